"""A workspace's usage read back from the ledger: the body of `GET /usage`, and the rows that
`wmgw usage` prints. Both come from the same storage query, so they always agree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import quota_day
from domain.usage_period import Period, asked
from gateway.auth import Caller
from gateway.services import Services
from storage.usage_reports import TOTALS, Grouping, usage_by


async def caller_usage(
    services: Services, caller: Caller, start: date | None, end: date | None, model: str | None
) -> dict[str, Any]:
    """The caller's workspace's usage over the period asked for (the last 30 days by default)."""
    period = asked(start, end, today=quota_day(time_zone=caller.time_zone))
    async with services.engine.connect() as conn:
        return await workspace_usage(conn, caller.workspace_id, period, model)


async def workspace_usage(
    conn: AsyncConnection, workspace_id: str, period: Period, model: str | None = None
) -> dict[str, Any]:
    """Every day of the period (zeros on a day without requests, so that charts need no gaps
    filled) and every model used in it, with the totals; only one model's with `model`."""
    days = await usage_by(conn, "day", period, workspace_id, model)
    models = await usage_by(conn, "model", period, workspace_id, model)
    return {
        "object": "usage",
        "workspace_id": workspace_id,
        "start_date": period.start.isoformat(),
        "end_date": period.end.isoformat(),
        "totals": summed(models),
        "days": [
            {"date": row["date"].isoformat(), **totals_of(row)}
            for row in every_day(days, period, workspace_id)
        ],
        "models": [{"model": row["model"], **totals_of(row)} for row in models],
    }


async def usage_rows(
    conn: AsyncConnection, by: Grouping, period: Period, workspace_id: str | None = None
) -> list[dict[str, Any]]:
    """`wmgw usage`'s rows: per group and workspace. For one workspace by day, every day of the
    period, as the API lists them; across workspaces only the days each one was used."""
    rows = await usage_by(conn, by, period, workspace_id)
    if by == "day" and workspace_id is not None:
        return every_day(rows, period, workspace_id)
    return rows


def every_day(
    rows: list[dict[str, Any]], period: Period, workspace_id: str
) -> list[dict[str, Any]]:
    """One workspace's rows by day, with a row of zeros for each day that has none."""
    by_date = {row["date"]: row for row in rows}
    return [
        by_date.get(day) or {"date": day, "workspace_id": workspace_id, **totals_of(None)}
        for day in period.days()
    ]


def totals_of(row: dict[str, Any] | None) -> dict[str, int]:
    return {name: row[name] if row else 0 for name in TOTALS}


def summed(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    totals = totals_of(None)
    for row in rows:
        for name in TOTALS:
            totals[name] += row[name]
    return totals
