"""Daily message quota rules: admission, what remains, and when the day turns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.quota import MINIMUM_RESERVATION, DailyAllowance, admits, quota_day


@pytest.mark.parametrize(
    ("limit", "used", "reserved", "reservation", "admitted"),
    [
        pytest.param(10, 0, 0, 1, True, id="fresh day is admitted"),
        pytest.param(10, 9, 0, 1, True, id="last message of the day is admitted"),
        pytest.param(10, 10, 0, 1, False, id="limit reached is refused"),
        pytest.param(10, 8, 1, 1, True, id="reservations count, one left"),
        pytest.param(10, 8, 2, 1, False, id="in-flight reservations fill the limit"),
        pytest.param(10, 0, 10, 1, False, id="all reserved is refused"),
        pytest.param(10, 12, 0, 1, False, id="over the limit (settled high) is refused"),
        pytest.param(10, 7, 0, 3, True, id="a larger reservation that just fits"),
        pytest.param(10, 8, 0, 3, False, id="a larger reservation that does not fit"),
        pytest.param(0, 0, 0, 1, False, id="a zero limit admits nothing"),
        pytest.param(None, 10**9, 10**9, 1, True, id="unlimited admits everything"),
    ],
)
def test_admits(limit, used, reserved, reservation, admitted):
    assert admits(DailyAllowance(limit, used, reserved), reservation) is admitted


def test_admission_reserves_one_message_by_default():
    assert MINIMUM_RESERVATION == 1
    assert admits(DailyAllowance(limit=5, used=4, reserved=0))
    assert not admits(DailyAllowance(limit=5, used=4, reserved=1))


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
    assert DailyAllowance(limit, used, reserved).remaining == remaining


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
            id="after local midnight east of utc is still yesterday",
        ),
        pytest.param(
            datetime(2025, 2, 28, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            date(2025, 3, 1),
            id="evening west of utc is already tomorrow",
        ),
    ],
)
def test_quota_day_is_the_utc_date(now, day):
    assert quota_day(now) == day


def test_quota_day_defaults_to_today_in_utc():
    before = datetime.now(UTC).date()
    day = quota_day()
    after = datetime.now(UTC).date()
    assert day in (before, after)
