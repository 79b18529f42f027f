"""The 429 a user reads when a request does not fit: which limit, when it resets, and whether
waiting for requests in flight can help (then the SDKs may retry) or not."""

from __future__ import annotations

from datetime import datetime

from domain.errors import QuotaExceeded
from domain.quota import IMAGES, MESSAGES, Counter, Want, next_reset
from gateway.auth import Caller

RETRY_IN_FLIGHT_SECONDS = 1


def refusal(caller: Caller, want: Want, counter: Counter, now: datetime) -> QuotaExceeded:
    error = _refusal(caller, want, counter, now)
    error.unit = (
        "pool" if want.unit == MESSAGES and want.subject != caller.workspace_id else want.unit
    )
    return error


def _refusal(caller: Caller, want: Want, counter: Counter, now: datetime) -> QuotaExceeded:
    what, when = _described(caller, want, now)
    left = counter.remaining or 0
    if counter.limit is not None and counter.used + want.at_least <= counter.limit:
        # Enough would be left but for requests in flight: they give back what they do not use.
        return QuotaExceeded(
            f"{what} is held by requests in flight ({counter.reserved} reserved, {left} free; "
            f"this request needs at least {want.at_least}). Retry when they finish.",
            headers={
                "x-should-retry": "true",
                "retry-after": str(RETRY_IN_FLIGHT_SECONDS),
                "retry-after-ms": str(RETRY_IN_FLIGHT_SECONDS * 1000),
            },
        )
    return QuotaExceeded(
        f"{what} is used up ({counter.used} of {counter.limit} used, {left} left; this request "
        f"needs at least {want.at_least}). {when}",
        headers={"x-should-retry": "false"},
    )


def _described(caller: Caller, want: Want, now: datetime) -> tuple[str, str]:
    if want.unit == IMAGES:
        reset = next_reset(now, caller.time_zone).isoformat()
        return "Your workspace's daily image limit", f"It resets at {reset}."
    if want.unit == MESSAGES and want.subject != caller.workspace_id:
        renews = "It renews at the start of next month (UTC)."
        if caller.pool is not None and caller.pool.renewal != "monthly":
            renews = "It does not renew; ask your administrator for more."
        return "Your message pool", renews
    reset = next_reset(now, caller.time_zone).isoformat()
    return (
        "Your workspace's daily message limit",
        f"It resets at {reset}; upgrade the plan for more.",
    )
