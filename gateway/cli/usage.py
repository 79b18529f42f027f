"""`wmgw usage`: what the ledger recorded."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cli.common import Subparsers, table
from gateway.settings import Settings
from storage import usage


async def usage_report(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    since = datetime.now(UTC) - timedelta(days=args.days)
    rows = await usage.daily_report(conn, args.workspace, since)
    columns = [
        "day",
        "workspace_id",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "messages",
        "video_seconds",
    ]
    table(rows, columns)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("usage", help="requests, tokens and messages per day")
    p.add_argument("--workspace")
    p.add_argument("--days", type=int, default=30)
    p.set_defaults(run=usage_report)
