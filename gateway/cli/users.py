"""`wmgw user ...` and `wmgw member ...`: users and their workspaces."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cli.common import CliError, Subparsers, group, table, user_id
from gateway.settings import Settings
from storage import accounts


async def user_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    new_user = await accounts.create_user(conn, args.email, args.name)
    if args.workspace:
        await accounts.add_member(conn, new_user, args.workspace, "owner")
    print(new_user)
    return 0


async def user_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    table(await accounts.list_users(conn), ["id", "email", "name", "current_workspace_id"])
    return 0


async def user_use(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    found = await user_id(conn, args.user)
    if not await accounts.set_current_workspace(conn, found, args.workspace):
        raise CliError("the user is not a member of that workspace")
    return 0


async def member_add(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    await accounts.add_member(conn, await user_id(conn, args.user), args.workspace, args.role)
    return 0


def register(sub: Subparsers) -> None:
    user = group(sub, "user")
    p = user.add_parser("create")
    p.add_argument("email")
    p.add_argument("--name")
    p.add_argument("--workspace", help="add the user to this workspace (as owner)")
    p.set_defaults(run=user_create)
    user.add_parser("list").set_defaults(run=user_list)
    p = user.add_parser("use")
    p.add_argument("user")
    p.add_argument("workspace")
    p.set_defaults(run=user_use)

    member = group(sub, "member")
    p = member.add_parser("add")
    p.add_argument("user")
    p.add_argument("workspace")
    p.add_argument("--role", default="member")
    p.set_defaults(run=member_add)
