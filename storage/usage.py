"""Daily message reservations and the request ledger.

Admission is one conditional UPDATE, so it is atomic on SQLite and PostgreSQL alike: a
reservation is granted only while `used + reserved + n <= limit`, whatever runs concurrently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import DailyAllowance
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
    status: str
    http_status: int
    duration_ms: int
    created_at: datetime


def _insert_ignore(conn: AsyncConnection):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(daily_usage)


async def _ensure_day(conn: AsyncConnection, workspace_id: str, day: date) -> None:
    statement = _insert_ignore(conn).values(workspace_id=workspace_id, day=day, used=0, reserved=0)
    await conn.execute(statement.on_conflict_do_nothing())


async def reserve(
    conn: AsyncConnection, workspace_id: str, day: date, limit: int | None, messages: int
) -> DailyAllowance | None:
    """Reserve `messages` for a request about to run; None when the limit would be passed."""
    await _ensure_day(conn, workspace_id, day)
    fits = (
        literal(True)
        if limit is None
        else (daily_usage.c.used + daily_usage.c.reserved + messages <= limit)
    )
    result = await conn.execute(
        update(daily_usage)
        .where(daily_usage.c.workspace_id == workspace_id, daily_usage.c.day == day, fits)
        .values(reserved=daily_usage.c.reserved + messages)
        .returning(daily_usage.c.used, daily_usage.c.reserved)
    )
    row = result.first()
    return DailyAllowance(limit=limit, used=row.used, reserved=row.reserved) if row else None


async def allowance(
    conn: AsyncConnection, workspace_id: str, day: date, limit: int | None
) -> DailyAllowance:
    row = (
        await conn.execute(
            select(daily_usage.c.used, daily_usage.c.reserved).where(
                daily_usage.c.workspace_id == workspace_id, daily_usage.c.day == day
            )
        )
    ).first()
    return DailyAllowance(
        limit=limit, used=row.used if row else 0, reserved=row.reserved if row else 0
    )


async def settle(
    conn: AsyncConnection, day: date, reserved: int, limit: int | None, row: LedgerRow
) -> DailyAllowance:
    """Replace a reservation by what the request counted, and record it in the ledger."""
    result = await conn.execute(
        update(daily_usage)
        .where(daily_usage.c.workspace_id == row.workspace_id, daily_usage.c.day == day)
        .values(
            reserved=daily_usage.c.reserved - reserved,
            used=daily_usage.c.used + row.messages,
        )
        .returning(daily_usage.c.used, daily_usage.c.reserved)
    )
    totals = result.one()
    await conn.execute(ledger.insert().values(**asdict(row)))
    return DailyAllowance(limit=limit, used=totals.used, reserved=totals.reserved)


async def daily_report(
    conn: AsyncConnection, workspace_id: str | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Requests, tokens and messages per workspace and UTC day, from the ledger."""
    day = func.date(ledger.c.created_at).label("day")
    query = select(
        ledger.c.workspace_id,
        day,
        func.count().label("requests"),
        func.sum(ledger.c.prompt_tokens).label("prompt_tokens"),
        func.sum(ledger.c.completion_tokens).label("completion_tokens"),
        func.sum(ledger.c.cached_tokens).label("cached_tokens"),
        func.sum(ledger.c.messages).label("messages"),
    ).group_by(ledger.c.workspace_id, day)
    if workspace_id:
        query = query.where(ledger.c.workspace_id == workspace_id)
    if since:
        query = query.where(ledger.c.created_at >= since)
    rows = await conn.execute(query.order_by(day, ledger.c.workspace_id))
    return [dict(r._mapping) for r in rows]


async def ledger_rows(conn: AsyncConnection, request_id: str | None = None) -> list[dict[str, Any]]:
    query = select(ledger).order_by(ledger.c.id)
    if request_id:
        query = query.where(ledger.c.request_id == request_id)
    return [dict(r._mapping) for r in await conn.execute(query)]
