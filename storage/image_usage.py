"""Daily image reservations against the plan's `daily_image_limit`.

The same scheme as storage/usage.py for messages: one conditional UPDATE grants a reservation
of `n` images only while `used + reserved + n <= limit`, atomically on SQLite and PostgreSQL,
whatever runs concurrently in this process or another. `reserve` and `settle` are operations
for `GroupCommit` (blocking functions of a Connection).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import DailyAllowance
from storage.tables import daily_image_usage, plans

_THIS_DAY = (daily_image_usage.c.workspace_id == bindparam("w")) & (
    daily_image_usage.c.day == bindparam("d")
)
_TOTALS = (daily_image_usage.c.used, daily_image_usage.c.reserved)
_RESERVE_UNLIMITED = (
    update(daily_image_usage)
    .where(_THIS_DAY)
    .values(reserved=daily_image_usage.c.reserved + bindparam("n"))
    .returning(*_TOTALS)
)
_RESERVE_WITHIN = _RESERVE_UNLIMITED.where(
    daily_image_usage.c.used + daily_image_usage.c.reserved + bindparam("n") <= bindparam("limit")
)
_SETTLE = (
    update(daily_image_usage)
    .where(_THIS_DAY)
    .values(
        reserved=daily_image_usage.c.reserved - bindparam("n"),
        used=daily_image_usage.c.used + bindparam("produced"),
    )
    .returning(*_TOTALS)
)
_DAY_EXISTS = select(daily_image_usage.c.used).where(_THIS_DAY)
_NEW_DAY = {
    name: dialect.insert(daily_image_usage)
    .values(workspace_id=bindparam("w"), day=bindparam("d"), used=0, reserved=0)
    .on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_PLAN_LIMIT = select(plans.c.daily_image_limit).where(plans.c.name == bindparam("plan"))


def plan_limit(conn: Connection, plan: str) -> int | None:
    """The plan's daily image limit, read in the reserving transaction (never a stale cache)."""
    return conn.execute(_PLAN_LIMIT, {"plan": plan}).scalar()


def _try_reserve(
    conn: Connection, workspace_id: str, day: date, limit: int | None, n: int
) -> DailyAllowance | None:
    statement = _RESERVE_UNLIMITED if limit is None else _RESERVE_WITHIN
    params = {"w": workspace_id, "d": day, "n": n, "limit": limit}
    row = conn.execute(statement, params).first()
    return DailyAllowance(limit=limit, used=row.used, reserved=row.reserved) if row else None


def reserve(
    conn: Connection, workspace_id: str, plan: str, day: date, n: int
) -> DailyAllowance | None:
    """Reserve `n` images for a request about to run; None when the limit would be passed."""
    limit = plan_limit(conn, plan)
    granted = _try_reserve(conn, workspace_id, day, limit, n)
    if granted is not None:
        return granted
    if conn.execute(_DAY_EXISTS, {"w": workspace_id, "d": day}).first() is not None:
        return None  # the day's row exists, so the limit is what refused
    conn.execute(_NEW_DAY[conn.dialect.name], {"w": workspace_id, "d": day})
    return _try_reserve(conn, workspace_id, day, limit, n)


def settle(
    conn: Connection, workspace_id: str, day: date, limit: int | None, reserved: int, produced: int
) -> DailyAllowance:
    """Replace a reservation of `reserved` images by the `produced` ones (0 refunds it all)."""
    params = {"w": workspace_id, "d": day, "n": reserved, "produced": produced}
    totals = conn.execute(_SETTLE, params).one()
    return DailyAllowance(limit=limit, used=totals.used, reserved=totals.reserved)


async def set_plan_limit(conn: AsyncConnection, plan: str, limit: int | None) -> bool:
    result = await conn.execute(
        update(plans).where(plans.c.name == plan).values(daily_image_limit=limit)
    )
    return result.rowcount == 1


async def daily_images(conn: AsyncConnection, workspace_id: str) -> list[dict[str, Any]]:
    """Images generated (and reserved right now) per UTC day for a workspace."""
    query = (
        select(daily_image_usage)
        .where(daily_image_usage.c.workspace_id == workspace_id)
        .order_by(daily_image_usage.c.day)
    )
    return [dict(row._mapping) for row in await conn.execute(query)]
