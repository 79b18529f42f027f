"""Model lists synced from upstreams, kept as catalog rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import synced_models


async def replace(conn: AsyncConnection, provider: str, rows: Sequence[dict[str, Any]]) -> int:
    """The provider's synced models become exactly `rows`."""
    await conn.execute(delete(synced_models).where(synced_models.c.provider == provider))
    now = datetime.now(UTC)
    if rows:
        values = [
            {"slug": r["slug"], "provider": provider, "row": r, "synced_at": now} for r in rows
        ]
        await conn.execute(synced_models.insert(), values)
    return len(rows)


async def all_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    result = await conn.execute(select(synced_models.c.row).order_by(synced_models.c.slug))
    return [dict(row) for (row,) in result]
