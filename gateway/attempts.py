"""Fallbacks and retries: one request tried on its model, then on each fallback the workspace
may use, until one serves it, before anything reached the client (domain/retries.py decides
when; gateway/breakers.py whether an upstream may be called at all).

Each call is an `Attempt` on the request's ticket; the ledger keeps them. The ticket's route
follows the model that served, which is the one the answer names and the one metered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.breaker import breaker_name
from domain.catalog import ModelEntry
from domain.errors import GatewayError, UpstreamUnavailable
from domain.retries import falls_back, next_wait
from domain.upstream_policy import UpstreamPolicy
from gateway.breakers import Breakers
from gateway.failures import failure_kind
from gateway.tickets import Attempt, Route, Ticket

log = logging.getLogger("wmgw.attempts")
P = TypeVar("P")
T = TypeVar("T")

SERVED = "served"
FAILED = "failed"
SKIPPED = "skipped_open_circuit"


@dataclass(frozen=True, slots=True)
class Candidate(Generic[P]):
    """A model that may serve the request, with the provider that would call it."""

    model: ModelEntry
    provider: P
    own_key: bool
    policy: UpstreamPolicy
    breaker: str  # the circuit breaker of its upstream and key (domain/breaker.py)


def candidate(
    model: ModelEntry, provider: P, own_key: bool, policy: UpstreamPolicy
) -> Candidate[P]:
    """The breaker is that of the key the upstream is called with: the provider's `api_key`
    (a provider that wraps another says its key)."""
    key = getattr(provider, "api_key", None)
    return Candidate(model, provider, own_key, policy, breaker_name(model.provider, key))


def circuit_open(model: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The upstream provider of `{model}` is failing: the gateway stopped calling it for a "
        "moment. Retry later, or name fallback models in `models`.",
        code="circuit_open",
        headers={"x-should-retry": "true"},
    )


class Failover(Generic[P]):
    def __init__(
        self,
        candidates: Sequence[Candidate[P]],
        breakers: Breakers,
        ticket: Ticket,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        assert candidates, "a request has at least its own model"
        self.candidates = candidates
        self.breakers = breakers
        self.ticket = ticket
        self.sleep = sleep
        self.served: Candidate[P] = candidates[0]

    @property
    def _seconds_left(self) -> float:
        total = self.candidates[0].policy.deadlines.total
        return self.ticket.started + total - time.monotonic()

    async def run(self, call: Callable[[Candidate[P]], Awaitable[T]]) -> T:
        """`call`'s result on the first candidate that serves; the last failure (or 503 when
        every upstream's circuit was open) when none did. The caller's own mistakes (no upstream
        fault) are raised at once."""
        last: GatewayError | None = None
        for candidate in self.candidates:
            if not await self.breakers.admits(candidate.breaker, candidate.model.provider):
                self._note(candidate, SKIPPED, None, time.monotonic())
                last = last or circuit_open(candidate.model.slug)
                continue
            try:
                return await self._on(candidate, call)
            except GatewayError as error:
                if not falls_back(error):
                    raise
                last = error
                self._log_moving_on(candidate, error)
        assert last is not None
        raise last

    async def _on(self, candidate: Candidate[P], call: Callable[[Candidate[P]], Awaitable[T]]) -> T:
        retry = 0
        while True:
            started = time.monotonic()
            try:
                result = await call(candidate)
            except GatewayError as error:
                self._note(candidate, FAILED, error, started)
                if not falls_back(error):
                    raise
                await self.breakers.failed(candidate.breaker, candidate.model.provider)
                wait = next_wait(candidate.policy.retries, error, retry, self._seconds_left)
                if wait is None:
                    raise
                log.info(
                    "request %s: %s failed (%s %s); asking again in %.2f s",
                    self.ticket.request_id,
                    candidate.model.slug,
                    error.status,
                    error.code,
                    wait,
                )
                await self.sleep(wait)
                retry += 1
                continue
            self._note(candidate, SERVED, None, started)
            await self.breakers.succeeded(candidate.breaker)
            self.served = candidate
            self.ticket.route = Route(
                self.ticket.route.endpoint, candidate.model.slug, candidate.model.provider
            )
            return result

    async def failed_after_output(self) -> None:
        """The serving upstream failed once its output had started: no fallback then, but its
        breaker counts it."""
        await self.breakers.failed(self.served.breaker, self.served.model.provider)

    def _note(
        self, candidate: Candidate[P], outcome: str, error: GatewayError | None, started: float
    ) -> None:
        self.ticket.attempts.append(
            Attempt(
                model=candidate.model.slug,
                provider=candidate.model.provider,
                outcome=outcome,
                http_status=error.status if error else (200 if outcome == SERVED else None),
                error_code=error.code
                if error
                else ("circuit_open" if outcome == SKIPPED else None),
                duration_ms=int((time.monotonic() - started) * 1000),
                failure_kind=failure_kind(error) if error else None,
            )
        )

    def _log_moving_on(self, candidate: Candidate[P], error: GatewayError) -> None:
        following = self.candidates.index(candidate) + 1
        then = (
            f"falling back to {self.candidates[following].model.slug}"
            if following < len(self.candidates)
            else "no fallback left"
        )
        log.warning(
            "request %s: %s failed (%s %s: %s); %s",
            self.ticket.request_id,
            candidate.model.slug,
            error.status,
            error.code,
            error.message,
            then,
        )
