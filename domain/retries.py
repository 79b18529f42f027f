"""When the gateway asks an upstream again, or moves on to the next model, and how long it waits
in between. Pure rules; gateway/attempts.py applies them.

A failure before any output reached the client may be tried again: on the same model when the
upstream's fault is retryable (refused, reset, 408, 429, 5xx, 529, a connect timeout), after a
jittered exponential backoff, and never sooner than the upstream's `retry-after`; otherwise,
or when retries are spent, on the next model of the chain. The caller's own mistakes (a 400) are
answered at once: another model would refuse them too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import GatewayError, UpstreamError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2  # further tries of one model, after its first
    base: float = 0.5  # seconds before the first retry, doubling after each
    cap: float = 8.0  # the most a backoff waits
    longest_wait: float = 30.0  # an upstream asking for longer is not waited for: fall back

    def __post_init__(self) -> None:
        if self.retries < 0 or self.base < 0 or self.cap < 0 or self.longest_wait < 0:
            raise ValueError("retry settings must not be negative")


def policy_for(row: Mapping[str, Any]) -> RetryPolicy:
    """A provider row's `retries` (a count, or a mapping of RetryPolicy's fields)."""
    configured = row.get("retries")
    if configured is None:
        return RetryPolicy()
    if isinstance(configured, int):
        return RetryPolicy(retries=configured)
    return RetryPolicy(**{k: configured[k] for k in configured})


def falls_back(error: GatewayError) -> bool:
    """Whether another model may serve a request whose upstream failed with `error`."""
    return error.fault is not None or isinstance(error, UpstreamError)


def backoff(
    policy: RetryPolicy,
    retry: int,
    retry_after: float | None,
    draw: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds before retry number `retry` (0 first): full jitter over an exponential window,
    at least what the upstream asked for."""
    window = min(policy.cap, policy.base * (2**retry))
    return max(draw(0.0, window), retry_after or 0.0)


def next_wait(
    policy: RetryPolicy, error: GatewayError, retry: int, seconds_left: float
) -> float | None:
    """How long to wait before asking the same model again, or None to stop asking it: the
    fault is not retryable, retries are spent, the upstream wants too long a pause, or the
    request's total deadline would pass first."""
    fault = error.fault
    if fault is None or not fault.retryable or retry >= policy.retries:
        return None
    if fault.retry_after is not None and fault.retry_after > policy.longest_wait:
        return None
    wait = backoff(policy, retry, fault.retry_after)
    return wait if wait < seconds_left else None
