"""Per-minute rate limits with GCRA (the generic cell rate algorithm), in exact integers.

A limit of `limit` units a minute is a bucket that holds a minute's worth of units and drains
continuously at `limit` a minute: a key may use its whole minute at once, and then one more unit
every `60000 / limit` ms. Taking `cost` units is allowed iff they fit in the bucket.

GCRA is usually written with one value, the theoretical arrival time `tat`: taking sets
`tat' = max(tat, now) + cost * interval` with `interval = 60000 / limit` ms, allowed iff
`tat' - now <= 60000`. That interval is a fraction for most limits (60000 / 7 ms), and for large
token limits (150M a minute) smaller than any clock tick, so rounding it would no longer give the
limit. Here the same algorithm is kept in its other standard form (the "continuous-state leaky
bucket"), scaled so that every quantity is an integer: `backlog = (tat - at_ms) * limit`, the
units still to drain times PERIOD_MS, as of `at_ms`. A unit costs PERIOD_MS, and the backlog
drains by `limit` every millisecond. Decisions are then exactly those of the `tat` form.

What it guarantees (tests/test_ratelimit.py checks each):
- the units admitted over any span of W ms never exceed `limit * (W + 60000) / 60000`: at most
  `limit` at any instant, and over n minutes at most n + 1 minutes' worth;
- nothing is refused that fits: a key idle for a minute has its whole `limit` again.
It does not promise "at most `limit` in every sliding 60-second window" (a full burst and then
the steady rate give up to twice that in one window), no more than OpenAI's limits do.
"""

from __future__ import annotations

from dataclasses import dataclass

PERIOD_MS = 60_000
# Elapsed time is counted up to this much (11.6 days), which drains any bucket and keeps
# `elapsed * limit` within 64-bit integers for limits up to MAX_LIMIT.
HORIZON_MS = 1_000_000_000
MAX_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Bucket:
    backlog: int = 0  # units not yet drained, times PERIOD_MS
    at_ms: int = 0  # when `backlog` was measured (the store's clock)


@dataclass(frozen=True, slots=True)
class Decision:
    admitted: bool
    bucket: Bucket  # after the decision: with the cost when admitted, drained to now either way


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units taken before their real count was known, and the bucket right after taking them:
    what a later give-back needs to return the unused part safely."""

    units: int
    bucket: Bucket


@dataclass(frozen=True, slots=True)
class RateState:
    """What the x-ratelimit-* headers say after a decision."""

    limit: int
    remaining: int
    reset_ms: int  # until the bucket is empty again, i.e. the whole limit is available
    admitted: bool = True
    retry_after_ms: int | None = None  # refused: when the same cost would fit; None: never


def capacity(limit: int) -> int:
    return limit * PERIOD_MS


def drained(bucket: Bucket, now_ms: int, limit: int) -> Bucket:
    """The bucket as of `now_ms`. A clock behind `at_ms` (another process's decision landed
    first) drains nothing, and time never goes back."""
    elapsed = max(0, min(now_ms - bucket.at_ms, HORIZON_MS))
    return Bucket(max(0, bucket.backlog - elapsed * limit), max(bucket.at_ms, now_ms))


def take(bucket: Bucket, now_ms: int, limit: int, cost: int) -> Decision:
    level = drained(bucket, now_ms, limit)
    if level.backlog + cost * PERIOD_MS > capacity(limit):
        return Decision(False, level)
    return Decision(True, Bucket(level.backlog + cost * PERIOD_MS, level.at_ms))


def give_back(
    bucket: Bucket, now_ms: int, limit: int, reservation: Reservation, used: int
) -> Bucket:
    """Correct a reservation to the units really used. Units used beyond it are charged now.
    Unused units are given back only for the part of the reservation still ahead in the
    bucket (its own backlog, drained to now): the time it already spent draining may have been
    time the bucket would otherwise have sat empty, and handing that back too would let a later
    burst pass the limit."""
    unused, extra = give_back_amounts(reservation.units, used)
    level = drained(bucket, now_ms, limit)
    # Its place in the bucket, drained to now, overstates what is left of it once a
    # reservation ahead of it was given back (it moved forward and drained sooner); at most
    # `elapsed * limit` of it can have drained in any case.
    position = drained(reservation.bucket, now_ms, limit).backlog
    alone = drained(Bucket(reservation.units * PERIOD_MS, reservation.bucket.at_ms), now_ms, limit)
    own = min(position, alone.backlog)
    return Bucket(max(0, level.backlog - min(unused, own)) + extra, level.at_ms)


def give_back_amounts(reserved: int, used: int) -> tuple[int, int]:
    """(unused, extra), in backlog units: what to return and what to charge on top."""
    return max(0, reserved - used) * PERIOD_MS, max(0, used - reserved) * PERIOD_MS


def state(limit: int, decision: Decision, cost: int) -> RateState:
    backlog = decision.bucket.backlog
    remaining = max(0, capacity(limit) - backlog) // PERIOD_MS
    reset_ms = -(-backlog // limit)
    if decision.admitted:
        return RateState(limit, remaining, reset_ms)
    retry = None
    if cost <= limit:
        retry = max(1, -(-(backlog + cost * PERIOD_MS - capacity(limit)) // limit))
    return RateState(limit, remaining, reset_ms, admitted=False, retry_after_ms=retry)


def duration(ms: int) -> str:
    """OpenAI's format for the reset headers (Go's durations): `0s`, `20ms`, `1.302s`,
    `6m0s`, `1h0m0s`."""
    if ms <= 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{minutes}m{seconds}"
    return seconds


class RateReport:
    """The latest decision of each unit for one request."""

    __slots__ = ("requests", "tokens")

    def __init__(self) -> None:
        self.requests: RateState | None = None
        self.tokens: RateState | None = None
