"""The circuit breaker of one upstream (a provider and the key it is called with).

    closed     every request goes through; failures in a row are counted, a success resets them
    open       after `failures` failures in a row: every request skips it for `cool_down` seconds
    half-open  the cool-down is over: one request (the probe) goes through, the others still
               skip it; the probe's success closes it, its failure opens it again. A probe that
               never reports (its process died) lets another one through after `probe` seconds.

The state lives in the database or Redis, shared by every worker (storage/breakers.py,
storage/redis_breakers.py apply these rules atomically); times are epoch milliseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Verdict(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failures: int = 5
    cool_down: float = 30.0
    probe: float = 60.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.cool_down <= 0 or self.probe <= 0:
            raise ValueError("breaker: failures must be at least 1, times positive")


@dataclass(frozen=True, slots=True)
class BreakerState:
    failures: int = 0
    open_until: int = 0  # 0: closed
    probe_until: int = 0

    def verdict(self, now_ms: int) -> Verdict:
        if self.open_until == 0:
            return Verdict.CLOSED
        return Verdict.OPEN if now_ms < self.open_until else Verdict.HALF_OPEN

    def probe_free(self, now_ms: int) -> bool:
        return self.verdict(now_ms) is Verdict.HALF_OPEN and self.probe_until <= now_ms


CLOSED_STATE = BreakerState()


def after_failure(state: BreakerState, now_ms: int, settings: BreakerSettings) -> BreakerState:
    failures = state.failures + 1
    probe_failed = state.verdict(now_ms) is Verdict.HALF_OPEN
    if probe_failed or failures >= settings.failures:
        return BreakerState(failures, now_ms + int(settings.cool_down * 1000), 0)
    return BreakerState(failures, state.open_until, state.probe_until)


def after_success(state: BreakerState, now_ms: int) -> BreakerState:
    """A success closes it, except one that started before it opened and ends while it is
    still open: only the probe decides then."""
    if state.verdict(now_ms) is Verdict.OPEN:
        return state
    return CLOSED_STATE


def after_probe_claim(state: BreakerState, now_ms: int, settings: BreakerSettings) -> BreakerState:
    return BreakerState(state.failures, state.open_until, now_ms + int(settings.probe * 1000))


def settings_for(row: Mapping[str, Any]) -> BreakerSettings:
    configured = row.get("breaker") or {}
    return BreakerSettings(**{k: configured[k] for k in configured})


def breaker_name(provider: str, api_key: str | None) -> str:
    """One breaker per provider and upstream key: a key that is out of quota does not stop the
    others (a user's own key among them). The key itself is never stored."""
    if not api_key:
        return provider
    return f"{provider}:{hashlib.sha256(api_key.encode()).hexdigest()[:16]}"
