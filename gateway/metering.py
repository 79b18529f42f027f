"""The owner of every request's metering: admit (reserve what it can cost, on every counter it
draws on, and record it as in flight), then settle it exactly once (its ledger row written and
its holds replaced by what it used), whatever way it ends.

Each admitted request is a `Ticket`. Its process renews the leases of its tickets and records
how far each has got (`Meter.heartbeat`); a ticket whose process died is settled by whichever
process sweeps first once its lease has run out, for what it had reported. A stopping process
stops its tickets at its graceful deadline (`Meter.drain`), so each is settled, and its client
told, before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import anyio

from domain.charges import Ending, images_charged, messages_charged
from domain.errors import QuotaExceeded
from domain.quota import (
    IMAGES,
    MESSAGES,
    Want,
    least_messages,
    messages_needed,
    output_allowance,
    pool_period,
    quota_day,
)
from domain.ratelimit import Reservation
from gateway.auth import Caller
from gateway.quota_errors import refusal
from gateway.rate_limits import RateLimits
from gateway.reset_clock import ResetClock
from gateway.sweeps import settle_abandoned
from gateway.tickets import (
    Claim,
    Receipt,
    Route,
    Ticket,
    attempt_rows,
    counter_name,
    ledger_row,
)
from storage import reservations
from storage.group_commit import GroupCommit

log = logging.getLogger("wmgw.metering")
SWEEP_BATCH = 100


def owner_id() -> str:
    """This process, among every process of every host sharing the database."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Meter:
    def __init__(
        self,
        writer: GroupCommit,
        lease_seconds: float = 30.0,
        renew_seconds: float = 10.0,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.writer = writer
        writer.requests_in_flight = lambda: len(self.live)
        self.rate_limits = rate_limits
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.owner = owner_id()
        self.resets = ResetClock()
        self.live: dict[str, Ticket] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ admission

    async def admit(
        self, caller: Caller, route: Route, claim: Claim, *, byok: bool = False
    ) -> Ticket:
        """Reserve what the request can cost (429 when not even its prompt fits) and record
        it as in flight. On the user's own upstream key (BYOK) it draws on no counter."""
        now = datetime.now(UTC)
        day = quota_day(now, caller.time_zone)
        wants = [] if byok else wants_for(caller, claim, day, now)
        record = reservations.InFlight(
            request_id=caller.request_id,
            owner=self.owner,
            lease_until=self._lease_end(),
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            key_id=caller.key_id,
            endpoint=route.endpoint,
            model=route.model,
            provider=route.provider,
            byok=byok,
            quota_day=day,
            created_at=now,
        )
        tokens = await self._reserve_tokens(caller, claim)
        try:
            admit = partial(reservations.admit, request=record, wants=wants)
            result = await self.writer.run(admit)
        except BaseException:
            await self._settle_tokens(caller, tokens, 0)
            raise
        if isinstance(result, reservations.Refused):
            await self._settle_tokens(caller, tokens, 0)
            raise _refusal(caller, result, now)
        ticket = Ticket(self, caller, route, byok, day, result, claim, tokens=tokens)
        ticket.output_allowance = _lowered_allowance(ticket)
        self.live[caller.request_id] = ticket
        return ticket

    async def _reserve_tokens(self, caller: Caller, claim: Claim) -> Reservation | None:
        """The key's tokens per minute: an estimate of what the request will use (429 when it
        does not fit), corrected to what it used when it is settled."""
        if self.rate_limits is None or caller.tpm_limit is None:
            return None
        # As OpenAI counts them: the prompt and the output the request asked for (a model's
        # own maximum is not held against the key; what is used beyond is charged at the end).
        estimate = claim.prompt_tokens + claim.stated_output
        return await self.rate_limits.reserve_tokens(caller, estimate)

    async def _settle_tokens(self, caller: Caller, tokens: Reservation | None, used: int) -> None:
        if self.rate_limits is not None and tokens is not None:
            with anyio.CancelScope(shield=True):
                await self.rate_limits.settle_tokens(caller, tokens, used)

    def _lease_end(self) -> int:
        return int((time.time() + self.lease_seconds) * 1000)

    # ------------------------------------------------------------------ settlement

    async def settle(self, ticket: Ticket, ending: Ending) -> Receipt:
        self.live.pop(ticket.request_id, None)
        tokens_used = ending.usage.total_tokens if ending.charged else 0
        try:
            await self._settle_tokens(ticket.caller, ticket.tokens, tokens_used)
        except Exception:  # a bucket we cannot reach keeps its estimate: stricter, not lost
            log.exception(
                "request %s: its tokens per minute could not be settled", ticket.request_id
            )
        messages = messages_charged(ending, byok=ticket.byok)
        images = images_charged(ending, ticket.reserved(IMAGES))
        row = ledger_row(ticket, ending, messages, images)
        used = {MESSAGES: messages, IMAGES: images}
        holds = [hold for hold, _ in ticket.holds]
        attempts = attempt_rows(ticket)
        settle = partial(reservations.settle, holds=holds, used=used, row=row, attempts=attempts)
        try:
            totals = await self.writer.run(settle)
        except Exception:
            # Its record stays in flight with its lease no longer renewed: a sweep settles it.
            log.exception("request %s could not be settled now", ticket.request_id)
            totals = {}
        if totals is None:
            log.warning("request %s was settled by a sweep before it ended", ticket.request_id)
            totals = {}
        remaining = {
            counter_name(ticket.caller, hold): _left(counter.limit, totals.get(hold))
            for hold, counter in ticket.holds
        }
        return Receipt(messages, images, remaining)

    # ------------------------------------------------------------------ leases and sweeps

    def start(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat_forever())

    async def _beat_forever(self) -> None:
        while True:
            # Jittered, so that the processes sharing a database do not all sweep at once.
            await asyncio.sleep(self.renew_seconds * random.uniform(0.8, 1.2))
            try:
                await self.heartbeat()
            except Exception:
                log.exception("metering heartbeat failed; retrying")

    async def heartbeat(self) -> int:
        """Renew this process's leases with each request's progress, then settle requests
        whose lease ran out (their process died); how many were swept."""
        progress = [_progress(t) for t in list(self.live.values()) if t.progress is not None]
        renew = partial(
            reservations.renew,
            owner=self.owner,
            until_ms=self._lease_end(),
            progress=[p for p in progress if p is not None],
        )
        await self.writer.run(renew)
        return await self.sweep()

    async def sweep(self) -> int:
        now_ms = int(time.time() * 1000)
        expired = await self.writer.run(
            partial(reservations.expired, now_ms=now_ms, limit=SWEEP_BATCH)
        )
        swept = 0
        for record in expired:
            if await self.writer.run(partial(settle_abandoned, record=record, now_ms=now_ms)):
                swept += 1
        return swept

    # ------------------------------------------------------------------ shutdown

    async def drain(self, reason: str, wait_seconds: float = 5.0) -> None:
        """Stop every request in flight (each is then settled and its client told), and wait
        for them to be settled."""
        for ticket in list(self.live.values()):
            ticket.stop(reason)
        deadline = time.monotonic() + wait_seconds
        while self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await self.writer.aclose()


def wants_for(caller: Caller, claim: Claim, day: date, now: datetime) -> list[Want]:
    need = messages_needed(claim.prompt_tokens, claim.max_output, claim.choices)
    least = least_messages(claim.prompt_tokens, claim.choices) if claim.lowerable else need
    period = day.isoformat()
    wants = [Want(caller.workspace_id, MESSAGES, period, need, caller.daily_message_limit, least)]
    if caller.pool is not None:
        pool = caller.pool
        wants.append(
            Want(pool.id, MESSAGES, pool_period(pool.renewal, now), need, pool.messages, least)
        )
    if claim.images:
        wants.append(
            Want(
                caller.workspace_id,
                IMAGES,
                period,
                claim.images,
                caller.daily_image_limit,
                claim.images,
            )
        )
    return wants


def _lowered_allowance(ticket: Ticket) -> int | None:
    """The output allowance that fits the messages granted, when less than the claim's."""
    claim = ticket.claim
    if not claim.lowerable or ticket.byok:
        return None
    granted = ticket.reserved(MESSAGES)
    allowance = output_allowance(granted, claim.prompt_tokens, claim.max_output, claim.choices)
    return allowance if allowance < claim.max_output else None


def _refusal(caller: Caller, refused: reservations.Refused, now: datetime) -> QuotaExceeded:
    return refusal(caller, refused.want, refused.counter, now)


def _left(limit: int | None, totals: tuple[int, int] | None) -> int | None:
    if limit is None or totals is None:
        return None
    used, reserved = totals
    return max(0, limit - used - reserved)


def _progress(ticket: Ticket) -> dict[str, Any] | None:
    assert ticket.progress is not None
    try:
        usage = ticket.progress()
    except Exception:  # noqa: BLE001 - progress is best effort; the settle is exact
        return None
    return {
        "r": ticket.request_id,
        "prompt": usage.prompt_tokens,
        "completion": usage.completion_tokens,
        "cached": usage.cached_tokens,
    }
