"""Daily message reservations and the request ledger.

Admission is one conditional UPDATE, so it is atomic on SQLite and PostgreSQL alike: a
reservation is granted only while `used + reserved + n <= limit`, whatever runs concurrently,
in this process or another. `reserve` and `settle` are operations for `GroupCommit` (blocking
functions of a Connection); their statements are compiled once and run on the driver's cursor
(storage/direct.py), so each call only binds values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import DailyAllowance
from storage.direct import Direct
from storage.tables import daily_usage, ledger


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
    messages: int
    usage_estimated: bool
    byok: bool
    status: str
    http_status: int
    duration_ms: int
    created_at: datetime
    video_seconds: int = 0  # drawn from the video-seconds pool (POST /videos)

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_THIS_DAY = (daily_usage.c.workspace_id == bindparam("w")) & (daily_usage.c.day == bindparam("d"))
_TOTALS = (daily_usage.c.used, daily_usage.c.reserved)
_RESERVE_ANY = (
    update(daily_usage)
    .where(_THIS_DAY)
    .values(reserved=daily_usage.c.reserved + bindparam("n"))
    .returning(*_TOTALS)
)
_RESERVE_UNLIMITED = Direct(_RESERVE_ANY)
_RESERVE_WITHIN = Direct(
    _RESERVE_ANY.where(
        daily_usage.c.used + daily_usage.c.reserved + bindparam("n") <= bindparam("limit")
    )
)
_SETTLE = Direct(
    update(daily_usage)
    .where(_THIS_DAY)
    .values(
        reserved=daily_usage.c.reserved - bindparam("n"),
        used=daily_usage.c.used + bindparam("counted"),
    )
    .returning(*_TOTALS)
)
_NEW_DAY = {
    name: dialect.insert(daily_usage)
    .values(workspace_id=bindparam("w"), day=bindparam("d"), used=0, reserved=0)
    .on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_LEDGER_INSERT = Direct(ledger.insert(), column_keys=[f.name for f in fields(LedgerRow)])


def _try_reserve(
    conn: Connection, workspace_id: str, day: date, limit: int | None, n: int
) -> DailyAllowance | None:
    if limit is None:
        row = _RESERVE_UNLIMITED.execute(conn, {"w": workspace_id, "d": day, "n": n}).fetchone()
    else:
        params = {"w": workspace_id, "d": day, "n": n, "limit": limit}
        row = _RESERVE_WITHIN.execute(conn, params).fetchone()
    return DailyAllowance(limit=limit, used=row[0], reserved=row[1]) if row else None


def reserve(
    conn: Connection, workspace_id: str, day: date, limit: int | None, n: int
) -> DailyAllowance | None:
    """Reserve `n` messages for a request about to run; None when the limit would be passed."""
    granted = _try_reserve(conn, workspace_id, day, limit, n)
    if granted is not None:
        return granted
    # No row yet, or the limit refused. Create the row (a no-op if it exists; it waits for
    # another process inserting it) and ask again. Checking whether the row exists instead
    # raced on PostgreSQL: another gateway could create it between the two statements, and
    # a request on an unlimited plan was refused.
    conn.execute(_NEW_DAY[conn.dialect.name], {"w": workspace_id, "d": day})
    return _try_reserve(conn, workspace_id, day, limit, n)


def settle(
    conn: Connection,
    day: date,
    reserved: int,
    limit: int | None,
    row: LedgerRow,
    spare: int = 0,
    margin: int = 0,
) -> tuple[DailyAllowance, bool]:
    """Replace a reservation by what the request counted, and record it in the ledger. With
    a `spare`, also reserve that many more for the workspace's next request, only while at
    least `margin` messages would remain besides it. The allowance after all of it, and
    whether the spare was kept."""
    params = {"w": row.workspace_id, "d": day, "n": reserved, "counted": row.messages}
    totals = _SETTLE.execute(conn, params).fetchone()
    if totals is None:  # nothing was reserved (no limit), and this is the day's first request
        conn.execute(_NEW_DAY[conn.dialect.name], {"w": row.workspace_id, "d": day})
        totals = _SETTLE.execute(conn, params).fetchone()
    used, now_reserved = totals
    _LEDGER_INSERT.execute(conn, row.values())
    settled = DailyAllowance(limit=limit, used=used, reserved=now_reserved)
    if not spare or limit is None:
        return settled, False
    kept = _try_reserve(conn, row.workspace_id, day, limit - margin, spare)
    return (kept, True) if kept is not None else (settled, False)


def release(conn: Connection, workspace_id: str, day: date, n: int) -> None:
    """Give back `n` reserved messages that no request used."""
    _SETTLE.execute(conn, {"w": workspace_id, "d": day, "n": n, "counted": 0})


def record(conn: Connection, row: LedgerRow) -> None:
    """A ledger row for a request that draws on no limit (the user's own upstream key)."""
    _LEDGER_INSERT.execute(conn, row.values())


async def daily_totals(conn: AsyncConnection, workspace_id: str) -> list[dict[str, Any]]:
    """The quota counters per day: messages used, and reserved by requests in flight."""
    query = (
        select(daily_usage.c.day, daily_usage.c.used, daily_usage.c.reserved)
        .where(daily_usage.c.workspace_id == workspace_id)
        .order_by(daily_usage.c.day)
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def ledger_rows(conn: AsyncConnection, request_id: str | None = None) -> list[dict[str, Any]]:
    query = select(ledger).order_by(ledger.c.id)
    if request_id:
        query = query.where(ledger.c.request_id == request_id)
    return [dict(r._mapping) for r in await conn.execute(query)]
