"""`wmgw usage`: what the ledger recorded per day, model, key or user, with the numbers that
`GET /usage` answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from cli.common import CliError, Run, database_command, workspace_row
from cli.output import table
from domain.errors import InvalidRequest
from domain.quota import quota_day
from domain.usage_period import DEFAULT_DAYS, MAX_DAYS, Period, asked
from storage.usage_reports import GROUPINGS, TOTALS, Grouping
from usecases.usage import usage_rows

NAMED_BY = {
    "day": ["date"],
    "model": ["model"],
    "key": ["key_id", "key_name", "email"],
    "user": ["user_id", "email"],
}


class Day(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"not a date (YYYY-MM-DD): {value!r}", param, ctx)


@click.command("usage")
@click.option("--workspace", metavar="WORKSPACE", help="One workspace (default: every workspace).")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    help=f"The last N days up to --until (default {DEFAULT_DAYS}); not with --since.",
)
@click.option("--since", type=Day(), help="The first day, YYYY-MM-DD (UTC); not with --days.")
@click.option("--until", type=Day(), help="The last day, YYYY-MM-DD (default: today, UTC).")
@click.option(
    "--by",
    type=click.Choice(GROUPINGS),
    default="day",
    show_default=True,
    help="How rows are grouped.",
)
@database_command
async def usage(
    run: Run,
    workspace: str | None,
    days: int | None,
    since: date | None,
    until: date | None,
    by: Grouping,
) -> None:
    """Requests (and those on users' own keys), tokens, counted messages and video seconds per
    workspace and day, model, key or user: the numbers of GET /usage. For one workspace by
    day, every day of the period is listed."""
    if days is not None and since is not None:
        raise click.UsageError("--days and --since cannot be used together")
    if workspace is not None:
        await workspace_row(run.conn, workspace)
    rows = await usage_rows(run.conn, by, _period(since, until, days), workspace)
    run.show(rows, table(rows, [*NAMED_BY[by], "workspace_id", *TOTALS]))


def _period(since: date | None, until: date | None, days: int | None) -> Period:
    try:
        return asked(since, until, quota_day(), days or DEFAULT_DAYS)
    except InvalidRequest as exc:
        raise CliError(exc.message) from exc
