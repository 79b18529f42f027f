"""Quota rules: what remains, when a daily window turns, and how much a request may reserve."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.metering import TOKENS_PER_MESSAGE, counted_messages
from domain.quota import (
    Counter,
    least_messages,
    messages_needed,
    next_reset,
    output_allowance,
    pool_period,
    quota_day,
)


@pytest.mark.parametrize(
    ("limit", "used", "reserved", "remaining"),
    [
        pytest.param(10, 0, 0, 10, id="nothing used"),
        pytest.param(10, 3, 2, 5, id="used and reserved both count"),
        pytest.param(10, 10, 0, 0, id="all used"),
        pytest.param(10, 12, 3, 0, id="never negative"),
        pytest.param(None, 5, 5, None, id="unlimited has no remaining"),
    ],
)
def test_remaining(limit, used, reserved, remaining):
    assert Counter(limit, used, reserved).remaining == remaining


@pytest.mark.parametrize(
    ("now", "day"),
    [
        pytest.param(datetime(2025, 3, 1, 0, 0, tzinfo=UTC), date(2025, 3, 1), id="utc midnight"),
        pytest.param(
            datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC),
            date(2025, 2, 28),
            id="one second before utc midnight",
        ),
        pytest.param(
            datetime(2025, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            date(2025, 2, 28),
            id="after local midnight east of utc is still yesterday in utc",
        ),
    ],
)
def test_a_workspace_without_a_time_zone_counts_utc_days(now, day):
    assert quota_day(now) == day


def test_a_workspace_in_tokyo_starts_its_day_at_midnight_tokyo_time():
    # 15:30 UTC is 00:30 the next day in Tokyo (UTC+9).
    now = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    assert quota_day(now, "Asia/Tokyo") == date(2026, 12, 7)
    assert quota_day(now, "UTC") == date(2026, 12, 6)
    assert next_reset(now, "Asia/Tokyo").isoformat() == "2026-12-08T00:00:00+09:00"


def test_the_reset_follows_daylight_saving_time():
    # New York leaves daylight saving time on 2026-11-01: midnight after it is UTC-5.
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert next_reset(now, "America/New_York").isoformat() == "2026-11-02T00:00:00-05:00"


def test_an_unknown_time_zone_counts_utc_days():
    now = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert quota_day(now, "Mars/Olympus_Mons") == date(2026, 12, 6)


def test_pools_renew_monthly_or_never():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert pool_period("monthly", now) == "2026-12"
    assert pool_period("none", now) == "total"


def test_a_request_may_cost_its_prompt_and_whole_output_for_each_choice():
    assert messages_needed(1_000, 15_000) == 1
    assert messages_needed(1_000, 15_001) == 2
    assert messages_needed(1_000, 8_000, choices=2) == 2


def test_a_request_needs_at_least_its_prompt_and_a_token_per_choice():
    assert least_messages(15_999) == 1
    assert least_messages(16_000) == 2
    assert least_messages(15_998, choices=3) == 2


def test_the_allowance_fills_what_the_messages_leave_after_the_prompt():
    assert output_allowance(1, 1_000, 128_000) == 15_000
    assert output_allowance(2, 1_000, 128_000, choices=2) == 15_500
    assert output_allowance(9, 1_000, 4_096) == 4_096  # never above what was asked
    assert output_allowance(1, 17_000, 100) == 0


prompt = st.integers(min_value=0, max_value=200_000)
output = st.integers(min_value=1, max_value=200_000)
choices = st.integers(min_value=1, max_value=8)


@settings(max_examples=300, deadline=None)
@given(prompt=prompt, max_output=output, n=choices, granted=st.integers(1, 40))
def test_a_lowered_allowance_never_costs_more_than_was_granted(prompt, max_output, n, granted):
    if granted < least_messages(prompt, n):
        return  # such a request is refused, not lowered
    allowance = output_allowance(granted, prompt, max_output, n)
    assert allowance >= 1
    assert counted_messages(prompt, allowance * n) <= granted


@settings(max_examples=300, deadline=None)
@given(prompt=prompt, max_output=output, n=choices)
def test_granting_what_a_request_needs_leaves_its_allowance_whole(prompt, max_output, n):
    granted = messages_needed(prompt, max_output, n)
    assert output_allowance(granted, prompt, max_output, n) == max_output
    assert granted * TOKENS_PER_MESSAGE >= prompt + max_output * n
