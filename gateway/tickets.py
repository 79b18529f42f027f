"""One admitted request as the metering sees it: what it claimed it could cost (`Claim`),
what it holds (`Ticket`), what it counted (`Receipt`), and its ledger row."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import anyio

from domain.charges import Ending
from domain.errors import GatewayError
from domain.metering import Usage, cached_discount
from domain.quota import MESSAGES, Counter, Hold
from domain.ratelimit import Reservation
from gateway.auth import Caller
from gateway.reset_clock import ResetClock
from storage.usage import LedgerRow


class Settler(Protocol):
    resets: ResetClock

    async def settle(self, ticket: Ticket, ending: Ending) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request can cost, as its use case sees it before the upstream call: an upper
    estimate of its prompt, its output allowance per choice and its number of choices, whether
    that allowance may be lowered to fit what is left, and the images it asks for."""

    prompt_tokens: int
    max_output: int = 0
    choices: int = 1
    lowerable: bool = False
    images: int = 0
    stated_output: int = 0  # the output the request asked for itself (all choices), or 0


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: str  # as the ledger names it: chat.completions, embeddings, ...
    model: str
    provider: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream call made for a request (gateway/attempts.py), as the ledger keeps it."""

    model: str
    provider: str
    outcome: str  # served | failed | skipped_open_circuit
    http_status: int | None
    error_code: str | None
    duration_ms: int
    failure_kind: str | None = None  # for the metrics (gateway/failures.py)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a settled request counted, and what is left after it."""

    messages: int
    images: int
    remaining: dict[str, int | None]  # by counter: messages, pool, images


@dataclass(eq=False)
class Ticket:
    """One admitted request, until it is settled."""

    meter: Settler
    caller: Caller
    route: Route
    byok: bool
    day: date
    holds: list[tuple[Hold, Counter]]
    claim: Claim
    output_allowance: int | None = None  # per choice, set when it was lowered to fit
    started: float = field(default_factory=time.monotonic)
    progress: Callable[[], Usage] | None = None  # what the request has produced so far
    receipt: Receipt | None = None
    tokens: Reservation | None = None  # reserved against the key's tokens per minute
    stop_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)  # when fallbacks or retries ran
    # For the request's log line and metrics (web/observer.py): how it ended, the failure
    # its client was answered with, and when its first output came (streams).
    ending: Ending | None = None
    failure: GatewayError | None = None
    first_output: float | None = None
    _stops: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        return self.caller.request_id

    def counter(self, name: str) -> Counter | None:
        """The counter `name` (`messages`: the daily limit, `pool`, `images`) as admission
        left it."""
        for hold, counter in self.holds:
            if counter_name(self.caller, hold) == name:
                return counter
        return None

    @property
    def upstream_calls(self) -> int:
        """Upstream calls made for it (retries and fallbacks included; skips are not calls)."""
        return max(1, sum(a.outcome != "skipped_open_circuit" for a in self.attempts))

    def reserved(self, unit: str) -> int:
        return max((hold.n for hold, _ in self.holds if hold.unit == unit), default=0)

    def on_stop(self, stop: Callable[[], Any]) -> None:
        """Call `stop` when the server stops this request (its graceful deadline)."""
        self._stops.append(stop)

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        for stop in self._stops:
            stop()

    async def settle(self, ending: Ending) -> Receipt:
        """Settle once, shielded from cancellation (a client leaving can't skip it); a second
        call returns the first receipt."""
        if self.receipt is not None:
            return self.receipt
        self.ending = ending
        with anyio.CancelScope(shield=True):
            receipt = self.receipt = await self.meter.settle(self, ending)
        return receipt


def counter_name(caller: Caller, hold: Hold) -> str:
    if hold.unit == MESSAGES:
        return "pool" if hold.subject != caller.workspace_id else MESSAGES
    return hold.unit


def ledger_row(ticket: Ticket, ending: Ending, messages: int, images: int) -> LedgerRow:
    caller, route, usage = ticket.caller, ticket.route, ending.usage
    return LedgerRow(
        request_id=caller.request_id,
        user_id=caller.user_id,
        workspace_id=caller.workspace_id,
        key_id=caller.key_id,
        model=route.model,
        provider=route.provider,
        endpoint=route.endpoint,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cached_discount=cached_discount(usage),
        messages=messages,
        usage_estimated=usage.estimated,
        byok=ticket.byok,
        status=ending.status,
        http_status=ending.http_status,
        duration_ms=int((time.monotonic() - ticket.started) * 1000),
        created_at=datetime.now(UTC),
        quota_day=ticket.day,
        images=images,
        video_seconds=ending.video_seconds,
        attempts=ticket.upstream_calls,
    )


def attempt_rows(ticket: Ticket) -> list[dict[str, Any]]:
    """The ledger's rows of each upstream call, when there was more than the one that served."""
    attempts = ticket.attempts
    if len(attempts) < 2 and all(a.outcome == "served" for a in attempts):
        return []
    return [
        {"request_id": ticket.request_id, "attempt": number, **_fields(attempt)}
        for number, attempt in enumerate(attempts, start=1)
    ]


def _fields(attempt: Attempt) -> dict[str, Any]:
    return {
        "model": attempt.model,
        "provider": attempt.provider,
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "error_code": attempt.error_code,
        "duration_ms": attempt.duration_ms,
    }
