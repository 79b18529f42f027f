"""`wmgw plan ...`: plans and their limits."""

from __future__ import annotations

import click

from cli.common import (
    COUNT,
    PLAN_NAME,
    Run,
    counted,
    database_command,
    plan_row,
    rate_limit_options,
)
from storage import accounts
from usecases import accounts_admin

COLUMNS = [
    "name",
    "daily_message_limit",
    "daily_image_limit",
    "monthly_video_seconds",
    "key_rpm_limit",
    "key_tpm_limit",
    "created_at",
]


@click.group("plan")
def plan() -> None:
    """Plans: the limits of the workspaces on them."""


async def _show(run: Run, name: str, text: str | None = None) -> None:
    row = await plan_row(run.conn, name)
    run.show({column: row.get(column) for column in COLUMNS}, text)


@plan.command("create")
@click.argument("name", type=PLAN_NAME)
@click.option(
    "--daily-messages", type=COUNT, help="Messages per workspace and day; omit for unlimited."
)
@click.option(
    "--daily-images",
    type=COUNT,
    help="Images per workspace and day (POST /images); omit for unlimited.",
)
@database_command
async def plan_create(
    run: Run, name: str, daily_messages: int | None, daily_images: int | None
) -> None:
    """Create the plan NAME; prints its name."""
    limits = {"daily_message_limit": daily_messages, "daily_image_limit": daily_images}
    await accounts_admin.create_plan(run.conn, name, limits)
    await _show(run, name, text=name)


@plan.command("list")
@database_command
async def plan_list(run: Run) -> None:
    """Every plan with its limits (`-`: unlimited)."""
    run.show_table(await accounts.list_plans(run.conn), COLUMNS)


@plan.command("set-limit")
@click.argument("name")
@click.option(
    "--daily-messages", type=COUNT, help="Messages per workspace and day; omit for unlimited."
)
@database_command
async def plan_set_limit(run: Run, name: str, daily_messages: int | None) -> None:
    """Change the daily message limit of the plan NAME."""
    await accounts_admin.change_plan(run.conn, name, {"daily_message_limit": daily_messages})
    await _show(run, name)


@plan.command("set-image-limit")
@click.argument("name")
@click.option(
    "--daily-images", type=COUNT, help="Images per workspace and day; omit for unlimited."
)
@database_command
async def plan_set_image_limit(run: Run, name: str, daily_images: int | None) -> None:
    """Change the daily image limit of the plan NAME."""
    await accounts_admin.change_plan(run.conn, name, {"daily_image_limit": daily_images})
    await _show(run, name)


@plan.command("set-video-seconds")
@click.argument("name")
@click.option(
    "--monthly", type=COUNT, help="Video seconds per workspace and month; omit for unlimited."
)
@database_command
async def plan_set_video_seconds(run: Run, name: str, monthly: int | None) -> None:
    """Change the video seconds a workspace on the plan NAME gets each month."""
    await accounts_admin.change_plan(run.conn, name, {"monthly_video_seconds": monthly})
    await _show(run, name)


@plan.command("set-key-limits")
@click.argument("name")
@rate_limit_options("unlimited")
@database_command
async def plan_set_key_limits(run: Run, name: str, rpm: int | None, tpm: int | None) -> None:
    """The rate limits of the keys (in workspaces on the plan NAME) that have none of their
    own."""
    await accounts_admin.change_plan(run.conn, name, {"key_rpm_limit": rpm, "key_tpm_limit": tpm})
    await _show(run, name)


@plan.command("delete")
@click.argument("name")
@click.option("--move-to", metavar="PLAN", help="Move the plan's workspaces to PLAN first.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete the plan's workspaces too (with their memberships, stored responses and "
    "video jobs), unless --move-to moves them.",
)
@database_command
async def plan_delete(run: Run, name: str, move_to: str | None, force: bool) -> None:
    """Delete the plan NAME. Refused while workspaces are on it, unless --move-to or --force
    says what becomes of them."""
    done = await accounts_admin.delete_plan(run.conn, name, move_to, force)
    moved, deleted = done.moved, done.deleted
    lines = [f"deleted plan {name}"]
    if moved:
        lines.append(f"{counted(len(moved), 'workspaces')} moved to {move_to}: {', '.join(moved)}")
    if deleted:
        lines.append(f"{counted(len(deleted), 'workspaces')} deleted: {', '.join(deleted)}")
    report = {"deleted": "plan", "name": name, "moved_to": move_to if moved else None}
    run.show({**report, "moved_workspaces": moved, "deleted_workspaces": deleted}, "\n".join(lines))
