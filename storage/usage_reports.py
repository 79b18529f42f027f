"""Usage read back from the ledger: requests, tokens, counted messages and video seconds per
day, model, developer key or user, for `GET /usage` and `wmgw usage`.

Every grouping by day and every date filter goes through `_day_of`, the one place that says
which day a ledger row belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, FromClause, Select, Table, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from domain.usage_period import Period
from storage.tables import api_keys, ledger, users

Grouping = Literal["day", "model", "key", "user"]
GROUPINGS: tuple[Grouping, ...] = ("day", "model", "key", "user")
TOTALS = (
    "requests",
    "byok_requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "messages",
    "video_seconds",
)


class utc_date(FunctionElement[date]):  # noqa: N801 (an SQL function, named like one)
    """The UTC calendar date of a timestamp, on SQLite and PostgreSQL alike."""

    type = Date()
    inherit_cache = True


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores the UTC wall-clock time as text.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_date)
def _utc_date_default(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's own date() of a timestamptz would use the session's time zone.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def _day_of(table: Table) -> ColumnElement[date]:
    """The day a ledger row is reported on: the daily window it was counted in (the day in
    its workspace's time zone), else, for rows older than that column, its UTC date."""
    return func.coalesce(table.c.quota_day, utc_date(table.c.created_at), type_=Date)


# A failed video job's refund row gives seconds back; it is not a request.
_IS_REQUEST = ledger.c.status != "refunded"


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _total(column: ColumnElement[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def _totals() -> list[ColumnElement[Any]]:
    return [
        _count(_IS_REQUEST).label("requests"),
        _count(and_(_IS_REQUEST, ledger.c.byok)).label("byok_requests"),
        _total(ledger.c.prompt_tokens).label("prompt_tokens"),
        _total(ledger.c.completion_tokens).label("completion_tokens"),
        _total(ledger.c.cached_tokens).label("cached_tokens"),
        # A request on the user's own upstream key (BYOK) draws nothing from the plan.
        _total(case((ledger.c.byok, 0), else_=ledger.c.messages)).label("messages"),
        _total(ledger.c.video_seconds).label("video_seconds"),
    ]


def _grouped_by(by: Grouping) -> Sequence[ColumnElement[Any]]:
    """The columns a report groups by, with what names them for a reader."""
    if by == "day":
        return [_day_of(ledger).label("date")]
    if by == "model":
        return [ledger.c.model]
    if by == "key":
        return [ledger.c.key_id, api_keys.c.name.label("key_name"), users.c.email]
    return [ledger.c.user_id, users.c.email]


def _within(period: Period) -> ColumnElement[bool]:
    # The bounds on created_at let the (workspace_id, created_at) index narrow the rows: a
    # row's day in any time zone is within one day of its UTC date.
    earliest = datetime.combine(period.start - timedelta(days=1), time(), UTC)
    latest = datetime.combine(period.end + timedelta(days=2), time(), UTC)
    return and_(
        ledger.c.created_at >= earliest,
        ledger.c.created_at < latest,
        _day_of(ledger).between(period.start, period.end),
    )


def _report(by: Grouping) -> Select[Any]:
    groups = _grouped_by(by)
    source: FromClause = ledger
    if by in ("key", "user"):
        source = source.outerjoin(users, users.c.id == ledger.c.user_id)
    if by == "key":
        source = source.outerjoin(api_keys, api_keys.c.id == ledger.c.key_id)
    return (
        select(*groups, ledger.c.workspace_id, *_totals())
        .select_from(source)
        .group_by(*groups, ledger.c.workspace_id)
        .order_by(*groups, ledger.c.workspace_id)
    )


async def usage_by(
    conn: AsyncConnection,
    by: Grouping,
    period: Period,
    workspace_id: str | None = None,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """One row per group and workspace that recorded anything in the period: the group's
    columns, `workspace_id`, and the TOTALS. Every workspace unless one is named."""
    query = _report(by).where(_within(period))
    if workspace_id is not None:
        query = query.where(ledger.c.workspace_id == workspace_id)
    if model is not None:
        query = query.where(ledger.c.model == model)
    rows = [dict(row._mapping) for row in await conn.execute(query)]
    for row in rows:
        row.update({name: int(row[name]) for name in TOTALS})  # PostgreSQL sums as Decimal
    return rows
