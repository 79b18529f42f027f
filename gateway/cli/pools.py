"""`wmgw pool ...`: message pools that several workspaces share, on top of their daily limits."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import pool_period
from gateway.cli.common import CliError, Subparsers, group, table
from gateway.settings import Settings
from storage import pools

RENEWALS = ("monthly", "none")


async def _pool_id(conn: AsyncConnection, id_or_name: str) -> str:
    found = await pools.find(conn, id_or_name)
    if found is None:
        raise CliError(f"no pool {id_or_name!r}")
    return str(found["id"])


def _size(messages: int) -> int:
    if messages < 0:
        raise CliError("a pool's size is a number of messages, 0 or more")
    return messages


async def pool_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if await pools.find(conn, args.name) is not None:
        raise CliError(f"a pool named {args.name!r} exists already")
    renewal = "monthly" if args.monthly else "none"
    print(await pools.create(conn, args.name, _size(args.messages), renewal))
    return 0


async def pool_resize(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    await pools.resize(conn, await _pool_id(conn, args.pool), _size(args.messages))
    return 0


async def pool_attach(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    pool_id = await _pool_id(conn, args.pool)
    for workspace in args.workspaces:
        if not await pools.attach(conn, pool_id, workspace):
            raise CliError(f"no workspace {workspace!r}")
    return 0


async def pool_detach(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    for workspace in args.workspaces:
        if not await pools.attach(conn, None, workspace):
            raise CliError(f"no workspace {workspace!r}")
    return 0


async def pool_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    periods = {renewal: pool_period(renewal) for renewal in RENEWALS}
    columns = ["id", "name", "messages", "renewal", "workspaces", "used", "reserved", "remaining"]
    table(await pools.listing(conn, periods), columns)
    return 0


def register(sub: Subparsers) -> None:
    pool = group(sub, "pool", "message pools shared by workspaces, on top of daily limits")
    p = pool.add_parser("create", help="a pool of messages; prints its id")
    p.add_argument("name")
    p.add_argument("--messages", type=int, required=True, help="the pool's size")
    p.add_argument(
        "--monthly", action="store_true", help="renew the pool each month (UTC); default: never"
    )
    p.set_defaults(run=pool_create)
    p = pool.add_parser("resize", help="change a pool's size")
    p.add_argument("pool", help="pool id or name")
    p.add_argument("--messages", type=int, required=True)
    p.set_defaults(run=pool_resize)
    p = pool.add_parser("attach", help="make workspaces draw on the pool")
    p.add_argument("pool", help="pool id or name")
    p.add_argument("workspaces", nargs="+", metavar="WORKSPACE")
    p.set_defaults(run=pool_attach)
    p = pool.add_parser("detach", help="make workspaces draw on no pool")
    p.add_argument("workspaces", nargs="+", metavar="WORKSPACE")
    p.set_defaults(run=pool_detach)
    pool.add_parser("list", help="pools, their workspaces and what is left").set_defaults(
        run=pool_list
    )
