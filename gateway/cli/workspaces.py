"""`wmgw workspace ...`: workspaces and their video seconds."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.videos import period_of
from gateway.cli.common import CliError, Subparsers, group, table
from gateway.settings import Settings
from storage import accounts, videos


async def workspace_video_seconds(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    month = args.month or period_of(datetime.now(UTC))
    pool = await videos.workspace_pool(conn, args.workspace, month)
    if pool is None:
        raise CliError(f"no workspace {args.workspace!r}")
    row = {"month": month, "granted": pool.limit, "used": pool.used, "remaining": pool.remaining}
    table([row], ["month", "granted", "used", "remaining"])
    return 0


async def workspace_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    print(await accounts.create_workspace(conn, args.name, args.plan))
    return 0


async def workspace_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    columns = ["id", "name", "plan", "pool_id", "time_zone", "members", "created_at"]
    table(await accounts.list_workspaces(conn), columns)
    return 0


async def workspace_set_time_zone(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    try:
        ZoneInfo(args.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CliError(f"unknown time zone {args.time_zone!r} (try Europe/Paris or UTC)") from exc
    if not await accounts.set_time_zone(conn, args.workspace, args.time_zone):
        raise CliError(f"no workspace {args.workspace!r}")
    return 0


def register(sub: Subparsers) -> None:
    workspace = group(sub, "workspace")
    p = workspace.add_parser("create")
    p.add_argument("name")
    p.add_argument("--plan", required=True)
    p.set_defaults(run=workspace_create)
    workspace.add_parser("list").set_defaults(run=workspace_list)
    p = workspace.add_parser(
        "set-time-zone", help="where the workspace's day (and its daily limits) starts"
    )
    p.add_argument("workspace")
    p.add_argument("time_zone", help="an IANA time zone, e.g. Europe/Paris (default UTC)")
    p.set_defaults(run=workspace_set_time_zone)
    p = workspace.add_parser("video-seconds", help="a workspace's video seconds this month")
    p.add_argument("workspace")
    p.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
    p.set_defaults(run=workspace_video_seconds)
