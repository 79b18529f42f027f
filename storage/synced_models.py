"""Model lists synced from upstreams, kept as catalog rows: one list per provider, shared by
every gateway process through the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import synced_models

Version = tuple[int, datetime | None]


async def replace(conn: AsyncConnection, provider: str, rows: Sequence[dict[str, Any]]) -> int:
    """The provider's synced models become exactly `rows`."""
    if conn.dialect.name == "postgresql":
        # Two processes replacing the list at once: the second's delete must see the first's
        # rows, or its inserts collide with them. (SQLite has one writer at a time anyway.)
        # EXCLUSIVE mode still lets every reader read.
        await conn.execute(text("LOCK TABLE synced_models IN EXCLUSIVE MODE"))
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


async def version(conn: AsyncConnection) -> Version:
    """Changes whenever any list is replaced: a process reloads the lists when it does."""
    query = select(func.count(), func.max(synced_models.c.synced_at))
    count, latest = (await conn.execute(query)).one()
    return int(count), _utc(latest)


async def last_synced(conn: AsyncConnection, provider: str) -> datetime | None:
    """When the provider's list was last stored; None when it never was (or is empty)."""
    query = select(func.max(synced_models.c.synced_at)).where(synced_models.c.provider == provider)
    return _utc((await conn.execute(query)).scalar())


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back the stored UTC time without its zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
