"""When each time zone's daily window ends, worked out once per window rather than once per
request (the reset header of every metered answer)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from domain.quota import next_reset


class ResetClock:
    def __init__(self) -> None:
        self._by_zone: dict[str, tuple[float, str]] = {}

    def header(self, time_zone: str) -> str:
        """The next midnight in `time_zone`, in RFC 3339."""
        now = time.time()
        known = self._by_zone.get(time_zone)
        if known is None or now >= known[0]:
            reset = next_reset(datetime.fromtimestamp(now, UTC), time_zone)
            known = self._by_zone[time_zone] = (reset.timestamp(), reset.isoformat())
        return known[1]
