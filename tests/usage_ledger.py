"""Ledger rows for usage tests: written through storage as the metering writer writes them,
and summed here in Python, independently of the SQL that reports them."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy

from domain.quota import quota_day
from domain.usage_period import Period
from storage import usage
from storage.engine import sync_url
from tests.conftest import Gateway

TOTALS = (
    "requests",
    "byok_requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "messages",
    "video_seconds",
)


def ledger_row(gateway: Gateway, *, at: datetime, **fields: Any) -> usage.LedgerRow:
    values: dict[str, Any] = {
        "request_id": f"req_{secrets.token_hex(8)}",
        "user_id": gateway.user_id,
        "workspace_id": gateway.workspace_id,
        "key_id": gateway.key.split(".")[1],
        "model": "a/a",
        "provider": "writingmate",
        "endpoint": "chat",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cached_tokens": 0,
        "cached_discount": 0,
        "messages": 1,
        "usage_estimated": False,
        "byok": False,
        "status": "completed",
        "http_status": 200,
        "duration_ms": 3,
        "created_at": at,
        "quota_day": at.astimezone(UTC).date(),  # a workspace on UTC
    }
    return usage.LedgerRow(**(values | fields))


def record(gateway: Gateway, rows: Iterable[usage.LedgerRow]) -> None:
    engine = sqlalchemy.create_engine(sync_url(gateway.settings.database_url))
    try:
        with engine.begin() as conn:
            for row in rows:
                usage.record(conn, row)
    finally:
        engine.dispose()


def sums(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """What a report should say about these ledger rows."""
    totals = dict.fromkeys(TOTALS, 0)
    for row in rows:
        is_request = row["status"] != "refunded"
        totals["requests"] += is_request
        totals["byok_requests"] += is_request and row["byok"]
        totals["messages"] += 0 if row["byok"] else row["messages"]
        for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "video_seconds"):
            totals[name] += row[name]
    return totals


def period_today() -> Period:
    return Period(quota_day(), quota_day())
