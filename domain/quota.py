"""Daily message quota decisions.

Admission reserves the minimum a request can cost (one message) before the upstream call, so
concurrent requests can never be admitted past the limit; settlement replaces the reservation
with the counted messages once usage is known.

A settle may also keep a spare reservation for the same process's next request of the
workspace, so that request needs no reservation of its own before its upstream call. A spare
is a real reservation, so the limit still holds across processes; it is kept only while at
least SPARE_MARGIN messages would remain besides it, and given back when unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

MINIMUM_RESERVATION = 1
SPARE_MARGIN = 16


@dataclass(frozen=True, slots=True)
class DailyAllowance:
    limit: int | None  # None: unlimited
    used: int
    reserved: int

    @property
    def remaining(self) -> int | None:
        if self.limit is None:
            return None
        return max(0, self.limit - self.used - self.reserved)


def admits(allowance: DailyAllowance, reservation: int = MINIMUM_RESERVATION) -> bool:
    return (
        allowance.limit is None
        or allowance.used + allowance.reserved + reservation <= allowance.limit
    )


def quota_day(now: datetime | None = None) -> date:
    """Daily limits reset at midnight UTC."""
    return (now or datetime.now(UTC)).astimezone(UTC).date()
