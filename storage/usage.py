"""The request ledger: one row per admitted request, written when it is settled."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.direct import Direct
from storage.tables import ledger


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

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(LedgerRow))
_INSERT = Direct(ledger.insert(), column_keys=list(_FIELDS))


def record(conn: Connection, row: LedgerRow) -> None:
    _INSERT.execute(conn, row.values())


async def ledger_rows(conn: AsyncConnection, request_id: str | None = None) -> list[dict[str, Any]]:
    query = select(ledger).order_by(ledger.c.id)
    if request_id:
        query = query.where(ledger.c.request_id == request_id)
    return [dict(r._mapping) for r in await conn.execute(query)]
