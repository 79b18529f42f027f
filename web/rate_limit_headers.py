"""OpenAI's x-ratelimit-* headers on every response of a key that has a rate limit.

web/middleware.py's RequestId leaves an empty `RateReport` in the scope for each request;
the rate-limit checks fill it in (through the Caller, which carries it), and RequestId stamps
what it holds on the response's start, errors included. A key without limits leaves it empty:
no header.
"""

from __future__ import annotations

from domain.ratelimit import RateReport, duration

RATE_REPORT = "wmgw.rate_report"


def rate_headers(report: RateReport) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    for unit, rate in (("requests", report.requests), ("tokens", report.tokens)):
        if rate is not None:
            headers += [
                (b"x-ratelimit-limit-" + unit.encode(), str(rate.limit).encode()),
                (b"x-ratelimit-remaining-" + unit.encode(), str(rate.remaining).encode()),
                (b"x-ratelimit-reset-" + unit.encode(), duration(rate.reset_ms).encode()),
            ]
    return headers
