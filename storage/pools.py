"""Message pools: messages shared by the workspaces attached to one, in total or per month."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import MESSAGES
from storage.accounts import new_id, now
from storage.tables import pools, quota_counters, workspaces


async def create(conn: AsyncConnection, name: str, messages: int, renewal: str) -> str:
    pool_id = new_id("pool")
    await conn.execute(
        pools.insert().values(
            id=pool_id, name=name, messages=messages, renewal=renewal, created_at=now()
        )
    )
    return pool_id


async def find(conn: AsyncConnection, id_or_name: str) -> dict[str, Any] | None:
    query = select(pools).where(or_(pools.c.id == id_or_name, pools.c.name == id_or_name))
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def resize(conn: AsyncConnection, pool_id: str, messages: int) -> None:
    await conn.execute(update(pools).where(pools.c.id == pool_id).values(messages=messages))


async def attach(conn: AsyncConnection, pool_id: str | None, workspace_id: str) -> bool:
    """Make the workspace draw on the pool (None: on no pool); False if no such workspace."""
    result = await conn.execute(
        update(workspaces).where(workspaces.c.id == workspace_id).values(pool_id=pool_id)
    )
    return bool(result.rowcount == 1)


async def listing(conn: AsyncConnection, periods: dict[str, str]) -> list[dict[str, Any]]:
    """Every pool with its workspaces and what it has used and reserved in its current period
    (`periods`: the period of each renewal, e.g. {"monthly": "2026-12", "none": "total"})."""
    attached = (
        select(func.count())
        .where(workspaces.c.pool_id == pools.c.id)
        .scalar_subquery()
        .label("workspaces")
    )
    rows = [dict(r._mapping) for r in await conn.execute(select(pools, attached))]
    for row in rows:
        counter = (
            await conn.execute(
                select(quota_counters.c.used, quota_counters.c.reserved).where(
                    quota_counters.c.subject == row["id"],
                    quota_counters.c.unit == MESSAGES,
                    quota_counters.c.period == periods[row["renewal"]],
                )
            )
        ).first()
        row["used"], row["reserved"] = (counter[0], counter[1]) if counter else (0, 0)
        row["remaining"] = max(0, row["messages"] - row["used"] - row["reserved"])
    return sorted(rows, key=lambda row: str(row["name"]))
