"""Quota decisions: windows, counters, and how much a request may reserve.

Everything a workspace can run out of is a counter in one store: messages per day (the plan's
daily limit, a day in the workspace's time zone), messages in a pool that several workspaces
share (in total, or per UTC month), images per day, video seconds per UTC month. Admission
reserves, before the upstream call, what the request can cost at most, on every counter it
draws on, atomically; settlement replaces the reservation with what it really cost.

What a chat request can cost is its prompt plus its output allowance. When less than that is
left, the allowance is lowered so that the request fits what is left; it is refused only when
even its prompt (with one output token) does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.metering import TOKENS_PER_MESSAGE, counted_messages

MESSAGES = "messages"
IMAGES = "images"
VIDEO_SECONDS = "video_seconds"
TOTAL = "total"  # the period of a pool that never renews


@dataclass(frozen=True, slots=True)
class Counter:
    """One counter as it stands: `limit` None is unlimited."""

    limit: int | None
    used: int
    reserved: int

    @property
    def remaining(self) -> int | None:
        if self.limit is None:
            return None
        return max(0, self.limit - self.used - self.reserved)


@dataclass(frozen=True, slots=True)
class Hold:
    """`n` units reserved on one counter (the subject is a workspace or a pool id)."""

    subject: str
    unit: str
    period: str
    n: int

    def as_row(self) -> list[str | int]:
        return [self.subject, self.unit, self.period, self.n]

    @classmethod
    def of_row(cls, row: list[str | int]) -> Hold:
        subject, unit, period, n = row
        return cls(str(subject), str(unit), str(period), int(n))


@dataclass(frozen=True, slots=True)
class Want:
    """What admission asks of one counter: `n` units, or as few as `at_least` when less is left
    (a request whose output can be lowered)."""

    subject: str
    unit: str
    period: str
    n: int
    limit: int | None
    at_least: int

    def granting(self, granted: int) -> Hold:
        return Hold(self.subject, self.unit, self.period, granted)


def zone(name: str | None) -> ZoneInfo:
    """A workspace's time zone; UTC when unset or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quota_day(now: datetime | None = None, time_zone: str | None = None) -> date:
    """The daily window a request falls in: its date in the workspace's time zone."""
    return (now or datetime.now(UTC)).astimezone(zone(time_zone)).date()


def next_reset(now: datetime | None = None, time_zone: str | None = None) -> datetime:
    """When the daily window that `now` falls in ends: the next midnight in the time zone."""
    tz = zone(time_zone)
    today = quota_day(now, time_zone)
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)


def month_of(now: datetime | None = None) -> str:
    """A UTC month as `YYYY-MM` (video seconds, monthly pools)."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m")


def pool_period(renewal: str, now: datetime | None = None) -> str:
    return month_of(now) if renewal == "monthly" else TOTAL


def messages_needed(prompt_tokens: int, max_output: int, choices: int = 1) -> int:
    """The most a request can cost: its prompt and `max_output` tokens for each choice."""
    return counted_messages(prompt_tokens, max_output * choices)


def least_messages(prompt_tokens: int, choices: int = 1) -> int:
    """The least a request can be admitted with: its prompt and one token for each choice."""
    return counted_messages(prompt_tokens, choices)


def output_allowance(messages: int, prompt_tokens: int, max_output: int, choices: int = 1) -> int:
    """The output tokens per choice that fit in `messages` beside the prompt, never above
    `max_output`."""
    room = messages * TOKENS_PER_MESSAGE - prompt_tokens
    return max(0, min(max_output, room // max(1, choices)))
