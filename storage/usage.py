"""The request ledger: one row per admitted request, written when it is settled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.direct import Direct
from storage.tables import ledger, ledger_attempts


@dataclass(frozen=True, slots=True)
class LedgerRow:
    request_id: str
    user_id: str
    workspace_id: str
    key_id: str
    model: str
    provider: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cached_discount: int
    messages: int  # counted against the plan (0 on the user's own key, or when not charged)
    usage_estimated: bool
    byok: bool
    status: str
    http_status: int
    duration_ms: int
    created_at: datetime
    quota_day: date  # the daily window it was counted in (the workspace's time zone)
    images: int = 0
    video_seconds: int = 0  # drawn from the video-seconds pool (POST /videos)
    attempts: int = 1  # upstream calls made (retries and fallbacks included)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(LedgerRow))
_INSERT = Direct(ledger.insert(), column_keys=list(_FIELDS))


def record(conn: Connection, row: LedgerRow, attempts: Sequence[Mapping[str, Any]] = ()) -> None:
    """The request's row, and a row per upstream call when there was more than one."""
    _INSERT.execute(conn, row.values())
    if attempts:
        conn.execute(ledger_attempts.insert(), list(attempts))


async def attempt_rows(conn: AsyncConnection, request_id: str) -> list[dict[str, Any]]:
    query = (
        select(ledger_attempts)
        .where(ledger_attempts.c.request_id == request_id)
        .order_by(ledger_attempts.c.attempt)
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def ledger_rows(conn: AsyncConnection, request_id: str | None = None) -> list[dict[str, Any]]:
    query = select(ledger).order_by(ledger.c.id)
    if request_id:
        query = query.where(ledger.c.request_id == request_id)
    return [dict(r._mapping) for r in await conn.execute(query)]
