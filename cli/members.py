"""`wmgw member ...`: who belongs to which workspace, with which role."""

from __future__ import annotations

import click

from cli.common import Run, database_command, user_id, workspace_row
from domain.accounts import ROLES
from storage import members
from usecases import accounts_admin

COLUMNS = ["workspace_id", "workspace_name", "user_id", "email", "role", "current", "created_at"]


@click.group("member")
def member() -> None:
    """Memberships: the workspaces a user belongs to."""


@member.command("add")
@click.argument("user")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="member",
    show_default=True,
    help="What the user is to the workspace (roles grant no permission yet).",
)
@database_command
async def member_add(run: Run, user: str, workspace_id: str, role: str) -> None:
    """Add USER (id or email) to WORKSPACE; it becomes their current workspace if they had
    none."""
    found = await accounts_admin.add_member(run.conn, user, workspace_id, role)
    [row] = await members.list_members(run.conn, workspace_id, found)
    run.show({column: row[column] for column in COLUMNS})


@member.command("set-role")
@click.argument("user")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.argument("role", type=click.Choice(ROLES))
@database_command
async def member_set_role(run: Run, user: str, workspace_id: str, role: str) -> None:
    """Make USER (id or email) ROLE of WORKSPACE."""
    found = await accounts_admin.set_role(run.conn, user, workspace_id, role)
    [row] = await members.list_members(run.conn, workspace_id, found)
    run.show({column: row[column] for column in COLUMNS})


@member.command("list")
@click.option("--workspace", metavar="WORKSPACE", help="Only the members of WORKSPACE.")
@click.option("--user", help="Only the workspaces of USER (id or email).")
@database_command
async def member_list(run: Run, workspace: str | None, user: str | None) -> None:
    """Memberships, with each user's role and whether it is their current workspace."""
    if workspace is not None:
        await workspace_row(run.conn, workspace)
    owner = await user_id(run.conn, user) if user is not None else None
    run.show_table(await members.list_members(run.conn, workspace, owner), COLUMNS)


@member.command("remove")
@click.argument("user")
@click.argument("workspace_id", metavar="WORKSPACE")
@database_command
async def member_remove(run: Run, user: str, workspace_id: str) -> None:
    """Take USER out of WORKSPACE. If it was their current workspace, another of theirs (the
    oldest membership) becomes current, or none: then their keys work nowhere until they get
    one."""
    found, current = await accounts_admin.remove_member(run.conn, user, workspace_id)
    text = f"removed {user} from {workspace_id}; their current workspace is {current or 'none'}"
    report = {"removed": "membership", "user_id": found, "workspace_id": workspace_id}
    run.show({**report, "current_workspace_id": current}, text)
