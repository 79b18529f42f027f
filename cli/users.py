"""`wmgw user ...`: users, their current workspace, and deleting them."""

from __future__ import annotations

import sys

import click

from cli.common import (
    NAME,
    CliError,
    Run,
    counted,
    database_command,
    user_id,
    workspace_row,
)
from domain import passwords
from storage import accounts, console
from usecases import accounts_admin

COLUMNS = ["id", "email", "name", "current_workspace_id", "created_at"]


@click.group("user")
def user() -> None:
    """Users: the people keys belong to. A user is named by id or email."""


async def _show(run: Run, id_or_email: str, text: str | None = None) -> None:
    row = await accounts.find_user(run.conn, id_or_email)
    run.show({column: (row or {}).get(column) for column in COLUMNS}, text)


@user.command("create")
@click.argument("email")
@click.option("--name", type=NAME, help="The user's name, for people reading lists.")
@click.option("--workspace", metavar="WORKSPACE", help="Add the user to WORKSPACE, as its owner.")
@database_command
async def user_create(run: Run, email: str, name: str | None, workspace: str | None) -> None:
    """Create a user with the address EMAIL; prints their id."""
    new_user = await accounts_admin.create_user(run.conn, email, name, workspace)
    await _show(run, new_user, text=new_user)


@user.command("list")
@database_command
async def user_list(run: Run) -> None:
    """Every user with their current workspace (the one their keys act in)."""
    run.show_table(await accounts.list_users(run.conn), COLUMNS)


@user.command("use")
@click.argument("user")
@click.argument("workspace_id", metavar="WORKSPACE")
@database_command
async def user_use(run: Run, user: str, workspace_id: str) -> None:
    """Make WORKSPACE (one USER is a member of) the workspace USER's keys act in."""
    found = await user_id(run.conn, user)
    await workspace_row(run.conn, workspace_id)
    if not await accounts.set_current_workspace(run.conn, found, workspace_id):
        raise CliError(f"{user} is not a member of {workspace_id} (`wmgw member add` first)")
    await _show(run, found)


@user.command("delete")
@click.argument("user")
@click.option(
    "--force",
    is_flag=True,
    help="Also delete their keys, memberships and own provider keys.",
)
@database_command
async def user_delete(run: Run, user: str, force: bool) -> None:
    """Delete USER. Refused while they have keys (even revoked ones), memberships or own
    provider keys, unless --force. Their usage history (the ledger) is kept."""
    found, dependents = await accounts_admin.delete_user(run.conn, user, force)
    removed = [counted(n, name) for name, n in dependents.items() if n]
    text = f"deleted user {found}" + (f" and {', '.join(removed)}" if removed else "")
    run.show({"deleted": "user", "id": found, "removed": dependents}, text)


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@user.command("set-password")
@click.argument("user")
@database_command
async def user_set_password(run: Run, user: str) -> None:
    """Set the password USER signs in to the console (/console) with: the first line of
    standard input, or typed twice at a prompt. Their console sessions end. Stored as an
    argon2id hash."""
    found = await user_id(run.conn, user)
    password = _password()
    refused = passwords.problem(password)
    if refused is not None:
        raise CliError(f"refused: {refused}")
    await console.set_password(run.conn, found, passwords.hashed(password))
    run.show({"user_id": found, "password_set": True}, f"password set for {user}")


@user.command("set-admin")
@click.argument("user")
@click.option("--off", is_flag=True, help="Take the admin pages away instead.")
@database_command
async def user_set_admin(run: Run, user: str, off: bool) -> None:
    """Let USER manage accounts in the console's admin pages (users, workspaces, members)."""
    found = await user_id(run.conn, user)
    await console.set_admin(run.conn, found, not off)
    run.show({"user_id": found, "is_admin": not off}, f"{user} is {'not ' if off else ''}an admin")
