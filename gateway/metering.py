"""Reserve before the upstream call, settle after it: the daily limit can't be overrun by
concurrent requests, and every request leaves one ledger row."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from domain.errors import QuotaExceeded
from domain.metering import Usage, messages_for
from domain.quota import MINIMUM_RESERVATION, DailyAllowance, quota_day
from gateway.auth import Caller
from storage import usage as usage_store
from storage.group_commit import GroupCommit


@dataclass(frozen=True, slots=True)
class Admission:
    day: date
    reserved: int
    allowance: DailyAllowance | None  # None: the request draws on no limit (BYOK)
    # `reserved` is 0 when the plan has no limit: nothing was reserved before the call.
    started: float


@dataclass(frozen=True, slots=True)
class Outcome:
    usage: Usage
    status: str  # completed | client_disconnected | interrupted | upstream_error
    http_status: int
    video_seconds: int = 0

    @property
    def messages(self) -> int:
        # A request the upstream failed before any output costs nothing.
        return messages_for(self.usage) if self.status != "upstream_error" else 0


class Meter:
    def __init__(self, writer: GroupCommit) -> None:
        self.writer = writer

    async def admit(self, caller: Caller, *, charged: bool = True) -> Admission:
        """Reserve a message before the upstream call; a request on the user's own upstream
        key (`charged=False`) draws on no limit and reserves nothing."""
        day = quota_day()
        if not charged:
            return Admission(day, 0, None, time.monotonic())
        if caller.daily_message_limit is None:
            # Nothing to enforce, so no reservation (a round trip to the writer saved): the
            # settle counts what the request used.
            return Admission(day, 0, DailyAllowance(None, 0, 0), time.monotonic())
        reserve = partial(
            usage_store.reserve,
            workspace_id=caller.workspace_id,
            day=day,
            limit=caller.daily_message_limit,
            n=MINIMUM_RESERVATION,
        )
        allowance = await self.writer.run(reserve)
        if allowance is None:
            raise QuotaExceeded(
                "You have used all of your workspace's messages for today. "
                "The limit resets at midnight UTC; upgrade the plan for more.",
                headers={"x-should-retry": "false"},
            )
        return Admission(day, MINIMUM_RESERVATION, allowance, time.monotonic())

    async def settle(
        self,
        caller: Caller,
        admission: Admission,
        route: tuple[str, str, str],  # endpoint, model slug, provider
        outcome: Outcome,
    ) -> DailyAllowance | None:
        endpoint, model, provider = route
        row = usage_store.LedgerRow(
            request_id=caller.request_id,
            user_id=caller.user_id,
            workspace_id=caller.workspace_id,
            key_id=caller.key_id,
            model=model,
            provider=provider,
            endpoint=endpoint,
            prompt_tokens=outcome.usage.prompt_tokens,
            completion_tokens=outcome.usage.completion_tokens,
            cached_tokens=outcome.usage.cached_tokens,
            messages=outcome.messages,
            usage_estimated=outcome.usage.estimated,
            byok=admission.allowance is None,
            status=outcome.status,
            http_status=outcome.http_status,
            duration_ms=int((time.monotonic() - admission.started) * 1000),
            created_at=datetime.now(UTC),
            video_seconds=outcome.video_seconds,
        )
        if admission.allowance is None:
            await self.writer.run(partial(usage_store.record, row=row))
            return None
        settle = partial(
            usage_store.settle,
            day=admission.day,
            reserved=admission.reserved,
            limit=caller.daily_message_limit,
            row=row,
        )
        return await self.writer.run(settle)
