"""The rate limit algorithm (domain/ratelimit.py): GCRA in exact integers, and what it promises."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ratelimit import (
    PERIOD_MS,
    Bucket,
    Reservation,
    capacity,
    drained,
    duration,
    give_back,
    state,
    take,
)

FAST = settings(max_examples=300, deadline=None)
limits = st.one_of(
    st.integers(min_value=1, max_value=100),
    st.integers(min_value=1, max_value=2_000_000),
    st.sampled_from([7, 13, 60_001, 150_000_000, 1_000_000_000]),
)
gaps = st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 2 * PERIOD_MS))


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    """A limit and requests (time in ms, cost) at non-decreasing times."""
    limit = draw(limits)
    costs = st.integers(1, max(1, limit // draw(st.sampled_from([1, 2, 3, 10]))))
    now, requests = 1_700_000_000_000, []
    for gap, cost in draw(st.lists(st.tuples(gaps, costs), min_size=1, max_size=60)):
        now += gap
        requests.append((now, cost))
    return limit, requests


def decisions(limit: int, requests: list[tuple[int, int]]) -> list[bool]:
    bucket, made = Bucket(), []
    for now, cost in requests:
        decision = take(bucket, now, limit, cost)
        bucket = decision.bucket
        made.append(decision.admitted)
    return made


def admitted(limit: int, requests: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [r for r, ok in zip(requests, decisions(limit, requests), strict=True) if ok]


def reference_gcra(limit: int, requests: list[tuple[int, int]]) -> list[bool]:
    """GCRA as usually written, with the theoretical arrival time as an exact fraction."""
    tat, interval, decisions = Fraction(0), Fraction(PERIOD_MS, limit), []
    for now, cost in requests:
        candidate = max(tat, Fraction(now)) + cost * interval
        fits = candidate - now <= PERIOD_MS
        tat = candidate if fits else tat
        decisions.append(fits)
    return decisions


@FAST
@given(arrivals())
def test_decisions_are_exactly_those_of_gcra_with_a_fractional_arrival_time(case):
    limit, requests = case
    assert decisions(limit, requests) == reference_gcra(limit, requests)


@FAST
@given(arrivals())
def test_no_span_of_w_ms_admits_more_than_the_limit_plus_what_drains_in_w(case):
    """Over any span [t_i, t_j]: sum of costs <= limit * (W + 60 s) / 60 s. So at most
    `limit` at one instant, and less than twice the limit within any 60 seconds."""
    limit, requests = case
    kept = admitted(limit, requests)
    for i, (start, _) in enumerate(kept):
        total = 0
        for end, cost in kept[i:]:
            total += cost
            assert total * PERIOD_MS <= limit * (end - start + PERIOD_MS)


@FAST
@given(arrivals())
def test_at_one_instant_never_more_than_the_limit(case):
    limit, requests = case
    per_instant: dict[int, int] = {}
    for now, cost in admitted(limit, requests):
        per_instant[now] = per_instant.get(now, 0) + cost
    assert max(per_instant.values(), default=0) <= limit


@FAST
@given(arrivals())
def test_a_key_idle_for_a_minute_has_its_whole_limit_again(case):
    limit, requests = case
    bucket = Bucket()
    for now, cost in requests:
        bucket = take(bucket, now, limit, cost).bucket
    assert take(bucket, requests[-1][0] + PERIOD_MS, limit, limit).admitted


@FAST
@given(arrivals())
def test_a_refused_request_changes_nothing_but_the_time(case):
    limit, requests = case
    bucket = Bucket()
    for now, cost in requests:
        decision = take(bucket, now, limit, cost)
        if not decision.admitted:
            assert decision.bucket == drained(bucket, now, limit)
        bucket = decision.bucket


@FAST
@given(arrivals())
def test_retry_after_is_the_first_moment_the_refused_request_fits(case):
    limit, requests = case
    bucket = Bucket()
    for now, cost in requests:
        decision = take(bucket, now, limit, cost)
        if not decision.admitted:
            wait = state(limit, decision, cost).retry_after_ms
            assert wait is not None and wait >= 1
            assert take(bucket, now + wait, limit, cost).admitted
            assert wait == 1 or not take(bucket, now + wait - 1, limit, cost).admitted
        bucket = decision.bucket


def test_remaining_counts_down_and_the_next_is_refused_for_one_interval() -> None:
    bucket, now, seen = Bucket(), 1_000_000, []
    for _ in range(3):
        decision = take(bucket, now, 3, 1)
        bucket = decision.bucket
        seen.append(state(3, decision, 1))
    assert [s.remaining for s in seen] == [2, 1, 0]
    assert [s.reset_ms for s in seen] == [20_000, 40_000, 60_000]
    refused = state(3, take(bucket, now + 5, 3, 1), 1)
    assert (refused.admitted, refused.remaining, refused.retry_after_ms) == (False, 0, 19_995)


def test_a_cost_above_the_limit_never_fits_and_has_no_retry_time() -> None:
    decision = take(Bucket(), 0, 100, 101)
    assert not decision.admitted
    assert state(100, decision, 101).retry_after_ms is None


def test_large_token_limits_stay_exact() -> None:
    """150M tokens a minute is 2500 a millisecond: no interval in whole ms could say so."""
    limit = 150_000_000
    full = take(Bucket(), 0, limit, limit)
    assert full.admitted and not take(full.bucket, 0, limit, 1).admitted
    assert take(full.bucket, 1, limit, 2500).admitted
    assert not take(full.bucket, 1, limit, 2501).admitted


def test_limits_that_do_not_divide_a_minute_stay_exact() -> None:
    """7 a minute: one every 8571.43 ms, so the 8th fits after 8572 ms, not 8571."""
    bucket = Bucket()
    for _ in range(7):
        bucket = take(bucket, 0, 7, 1).bucket
    assert not take(bucket, 8571, 7, 1).admitted
    assert take(bucket, 8572, 7, 1).admitted


# --------------------------------------------------------------------------- give back


@st.composite
def reservations(draw: st.DrawFn):
    """A limit and reservations (time, reserved, used <= reserved, settle delay)."""
    limit = draw(st.integers(1, 10_000))
    now, rows = 0, []
    for _ in range(draw(st.integers(1, 25))):
        now += draw(gaps)
        reserved = draw(st.integers(1, limit))
        used = draw(st.integers(0, reserved))
        rows.append((now, reserved, used, draw(st.integers(0, 2 * PERIOD_MS))))
    return limit, rows


@FAST
@given(reservations())
def test_giving_back_never_makes_the_limit_more_lenient_than_charging_the_real_use(case):
    """Compared with a bucket charged each admitted request's real use at admission, the one
    that reserved and gave back is never emptier, at any moment."""
    limit, rows = case
    events = []  # (time, order, kind, index): reservations before settles at the same ms
    for index, (at, _, _, delay) in enumerate(rows):
        events += [(at, 0, "take", index), (at + delay, 1, "settle", index)]
    ours, real, held = Bucket(), Bucket(), {}
    for now, _, kind, index in sorted(events):
        _, reserved, used, _ = rows[index]
        if kind == "take":
            decision = take(ours, now, limit, reserved)
            ours = decision.bucket
            if decision.admitted:
                held[index] = Reservation(reserved, ours)
                real = Bucket(drained(real, now, limit).backlog + used * PERIOD_MS, now)
        elif index in held:
            ours = give_back(ours, now, limit, held.pop(index), used)
        assert drained(ours, now, limit).backlog >= drained(real, now, limit).backlog


@FAST
@given(
    limit=st.integers(1, 10_000),
    before=st.integers(0, 10_000),
    reserved=st.integers(1, 10_000),
    used=st.integers(0, 10_000),
    delay=st.integers(0, 3 * PERIOD_MS),
)
def test_a_reservation_given_back_on_an_empty_bucket_ends_as_if_only_the_use_was_charged(
    limit, before, reserved, used, delay
):
    start = Bucket(min(before, limit) * PERIOD_MS, 0)
    taken = take(start, 0, limit, reserved)
    if not taken.admitted:
        return
    settled = give_back(taken.bucket, delay, limit, Reservation(reserved, taken.bucket), used)
    charged = Bucket(start.backlog + used * PERIOD_MS, 0)
    if used <= reserved and before == 0:
        assert drained(settled, delay, limit) == drained(charged, delay, limit)
    else:
        # The extra is charged when it is known; and behind a backlog, the time that drained
        # the units ahead may as well have drained the reservation's (a reservation ahead of it
        # given back moves it forward), so its give-back errs on the strict side.
        assert settled.backlog >= drained(charged, delay, limit).backlog


def test_a_reservation_that_has_drained_gives_nothing_back() -> None:
    """Reserved the whole limit, used none, and the minute passed: the bucket is empty, and a
    later request's units are not cancelled by the stale give-back."""
    limit = 10
    reservation = take(Bucket(), 0, limit, limit).bucket
    later = take(reservation, PERIOD_MS, limit, limit).bucket
    after = give_back(later, PERIOD_MS, limit, Reservation(limit, reservation), 0)
    assert after.backlog == capacity(limit)


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (20, "20ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1302, "1.302s"),
        (1300, "1.3s"),
        (20_000, "20s"),
        (60_000, "1m0s"),
        (360_000, "6m0s"),
        (61_500, "1m1.5s"),
        (3_600_000, "1h0m0s"),
        (3_723_004, "1h2m3.004s"),
    ],
)
def test_durations_are_written_as_openai_writes_them(ms, text):
    assert duration(ms) == text
