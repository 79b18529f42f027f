"""Reserve before the upstream call, settle after it: the daily limit can't be overrun by
concurrent requests, and every request leaves one ledger row.

Each reservation is a round trip to the metering writer thread, and on a quiet worker waking
that thread and then the event loop costs more CPU than the statements (BENCHMARKS.md). So a
settle also keeps one spare reservation per workspace and day for this process's next request
(domain/quota.py), which then starts without a round trip. An unused spare is given back after
`spare_idle_seconds`, and at shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from domain.errors import QuotaExceeded
from domain.metering import Usage, messages_for
from domain.quota import MINIMUM_RESERVATION, SPARE_MARGIN, DailyAllowance, quota_day
from gateway.auth import Caller
from storage import usage as usage_store
from storage.group_commit import GroupCommit


@dataclass(frozen=True, slots=True)
class Admission:
    day: date
    reserved: int  # 0 when the plan has no limit: nothing was reserved before the call
    allowance: DailyAllowance | None  # None: the request draws on no limit (BYOK)
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


SpareKey = tuple[str, date]  # workspace, quota day


class Meter:
    def __init__(self, writer: GroupCommit, spare_idle_seconds: float = 1.0) -> None:
        self.writer = writer
        self.spare_idle_seconds = spare_idle_seconds  # 0: keep no spares
        # The allowance as it stood when each spare was reserved (the spare counted in it).
        self._spares: dict[SpareKey, DailyAllowance] = {}
        self._releases: set[asyncio.Task[None]] = set()

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
        spare = self._spares.pop((caller.workspace_id, day), None)
        if spare is not None:
            return Admission(day, MINIMUM_RESERVATION, spare, time.monotonic())
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
        key = (caller.workspace_id, admission.day)
        limit = caller.daily_message_limit
        wants_spare = limit is not None and key not in self._spares and self.spare_idle_seconds
        settle = partial(
            usage_store.settle,
            day=admission.day,
            reserved=admission.reserved,
            limit=limit,
            row=row,
            spare=MINIMUM_RESERVATION if wants_spare else 0,
            margin=SPARE_MARGIN,
        )
        allowance, kept = await self.writer.run(settle)
        if not kept:
            return allowance
        if key in self._spares:  # another request of the workspace kept one meanwhile
            self._release(key)
        else:
            self._spares[key] = allowance
            loop = asyncio.get_running_loop()
            loop.call_later(self.spare_idle_seconds, self._release_unused, key, allowance)
        # What the caller may still use: our spare is not in use by anyone.
        return DailyAllowance(limit, allowance.used, allowance.reserved - MINIMUM_RESERVATION)

    def _release_unused(self, key: SpareKey, spare: DailyAllowance) -> None:
        if self._spares.get(key) is spare:  # the same spare, still unused
            del self._spares[key]
            self._release(key)

    def _release(self, key: SpareKey) -> None:
        workspace_id, day = key
        release = partial(
            usage_store.release, workspace_id=workspace_id, day=day, n=MINIMUM_RESERVATION
        )
        task = asyncio.get_running_loop().create_task(self.writer.run(release))
        self._releases.add(task)
        task.add_done_callback(_forget(self._releases))

    async def aclose(self) -> None:
        """Give the unused spares back, then stop the writer."""
        for key in list(self._spares):
            del self._spares[key]
            self._release(key)
        await asyncio.gather(*self._releases, return_exceptions=True)
        await self.writer.aclose()


def _forget(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a spare that could not be given back expires with its day

    return done
