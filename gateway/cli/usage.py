"""`wmgw usage`: what the ledger recorded per day, model, key or user, with the numbers that
`GET /usage` answers."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidRequest
from domain.quota import quota_day
from domain.usage_period import DEFAULT_DAYS, Period, asked
from gateway.cli.common import CliError, Subparsers, table
from gateway.settings import Settings
from gateway.usage_report import usage_rows
from storage import accounts
from storage.usage_reports import GROUPINGS, TOTALS

NAMED_BY = {
    "day": ["date"],
    "model": ["model"],
    "key": ["key_id", "key_name", "email"],
    "user": ["user_id", "email"],
}


async def usage_report(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if args.workspace and not await accounts.workspace_exists(conn, args.workspace):
        raise CliError(f"no workspace {args.workspace!r}")
    rows = await usage_rows(conn, args.by, _period(args), args.workspace)
    if args.json:
        print(json.dumps(rows, indent=2, default=_iso))
    else:
        table(rows, [*NAMED_BY[args.by], "workspace_id", *TOTALS])
    return 0


def _period(args: argparse.Namespace) -> Period:
    try:
        return asked(args.since, args.until, quota_day(), args.days)
    except InvalidRequest as exc:
        raise CliError(exc.message) from exc


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return int(text)


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "usage", help="requests, tokens, messages and video seconds per day, model, key or user"
    )
    p.add_argument("--workspace", help="one workspace (default: every workspace)")
    since = p.add_mutually_exclusive_group()
    since.add_argument(
        "--days", type=_days, default=DEFAULT_DAYS, help="the last N days up to --until (30)"
    )
    since.add_argument("--since", type=_day, help="the first day, YYYY-MM-DD (UTC)")
    p.add_argument("--until", type=_day, help="the last day, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--by", choices=GROUPINGS, default="day", help="how rows are grouped (day)")
    p.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    p.set_defaults(run=usage_report)
