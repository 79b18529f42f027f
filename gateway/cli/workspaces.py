"""`wmgw workspace ...`: workspaces and their video seconds."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

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
    table(await accounts.list_workspaces(conn), ["id", "name", "plan", "members", "created_at"])
    return 0


def register(sub: Subparsers) -> None:
    workspace = group(sub, "workspace")
    p = workspace.add_parser("create")
    p.add_argument("name")
    p.add_argument("--plan", required=True)
    p.set_defaults(run=workspace_create)
    workspace.add_parser("list").set_defaults(run=workspace_list)
    p = workspace.add_parser("video-seconds", help="a workspace's video seconds this month")
    p.add_argument("workspace")
    p.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
    p.set_defaults(run=workspace_video_seconds)
