"""`wmgw workspace ...`: workspaces, their time zone and their video seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from cli.common import (
    NAME,
    CliError,
    Run,
    counted,
    database_command,
    workspace_row,
)
from cli.output import table
from domain.videos import period_of
from storage import accounts, videos
from usecases import accounts_admin

COLUMNS = ["id", "name", "plan", "pool_id", "time_zone", "members", "created_at"]
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@click.group("workspace")
def workspace() -> None:
    """Workspaces: where users work, on a plan, drawing on its limits."""


async def _show(run: Run, workspace_id: str, text: str | None = None) -> None:
    [row] = [w for w in await accounts.list_workspaces(run.conn) if w["id"] == workspace_id]
    run.show({column: row.get(column) for column in COLUMNS}, text)


@workspace.command("create")
@click.argument("name", type=NAME)
@click.option("--plan", required=True, help="The plan whose limits the workspace draws on.")
@database_command
async def workspace_create(run: Run, name: str, plan: str) -> None:
    """Create a workspace called NAME (names need not be unique); prints its id."""
    workspace_id = await accounts_admin.create_workspace(run.conn, name, plan)
    await _show(run, workspace_id, text=workspace_id)


@workspace.command("list")
@database_command
async def workspace_list(run: Run) -> None:
    """Every workspace with its plan, pool, time zone and number of members."""
    run.show_table(await accounts.list_workspaces(run.conn), COLUMNS)


@workspace.command("set-time-zone")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.argument("time_zone", metavar="ZONE")
@database_command
async def workspace_set_time_zone(run: Run, workspace_id: str, time_zone: str) -> None:
    """Where the day of WORKSPACE (and its daily limits) starts: ZONE is an IANA time zone,
    e.g. Europe/Paris (a new workspace's is UTC)."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CliError(f"unknown time zone {time_zone!r} (try Europe/Paris or UTC)") from exc
    await workspace_row(run.conn, workspace_id)
    await accounts.set_time_zone(run.conn, workspace_id, time_zone)
    await _show(run, workspace_id)


@workspace.command("video-seconds")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.option("--month", metavar="YYYY-MM", help="The month (default: this month, UTC).")
@database_command
async def workspace_video_seconds(run: Run, workspace_id: str, month: str | None) -> None:
    """The video seconds WORKSPACE was granted, has used and has left in a month."""
    if month is not None and not MONTH.fullmatch(month):
        raise CliError(f"not a month (YYYY-MM): {month!r}")
    month = month or period_of(datetime.now(UTC))
    pool = await videos.workspace_pool(run.conn, workspace_id, month)
    if pool is None:
        raise CliError(f"no workspace {workspace_id!r} (`wmgw workspace list` shows them)")
    row = {"month": month, "granted": pool.limit, "used": pool.used, "remaining": pool.remaining}
    run.show(row, table([row], list(row)))


@workspace.command("delete")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.option(
    "--force",
    is_flag=True,
    help="Also remove its memberships, stored responses and video jobs (its members' current "
    "workspace moves to another of theirs, or to none).",
)
@database_command
async def workspace_delete(run: Run, workspace_id: str, force: bool) -> None:
    """Delete WORKSPACE. Refused while it has members, stored responses or video jobs, unless
    --force. Its usage history (the ledger) is kept."""
    dependents = await accounts_admin.delete_workspace(run.conn, workspace_id, force)
    removed = [counted(n, name) for name, n in dependents.items() if n]
    text = f"deleted workspace {workspace_id}" + (f" and {', '.join(removed)}" if removed else "")
    run.show({"deleted": "workspace", "id": workspace_id, "removed": dependents}, text)
