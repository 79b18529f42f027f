"""The days a usage report covers: inclusive dates, decided once for the API and for `wmgw`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from domain.errors import InvalidRequest

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a leap year: one report can always cover a whole year


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    def days(self) -> Iterator[date]:
        return (self.start + timedelta(days=i) for i in range(self.length))


def asked(start: date | None, end: date | None, today: date, days: int = DEFAULT_DAYS) -> Period:
    """From `start` to `end`, both included. `end` defaults to today, and `start` to `days`
    days up to `end`: the last 30 days up to today when neither is given."""
    end = end or today
    start = start or end - timedelta(days=days - 1)
    return checked(Period(start, end))


def checked(period: Period) -> Period:
    if period.end < period.start:
        raise InvalidRequest(
            f"The period ends ({period.end}) before it starts ({period.start}).",
            param="end_date",
            code="invalid_date_range",
        )
    if period.length > MAX_DAYS:
        raise InvalidRequest(
            f"The period is {period.length} days long; a report covers at most {MAX_DAYS} days.",
            param="start_date",
            code="invalid_date_range",
        )
    return period
