"""`wmgw pool ...`: message pools that several workspaces share, on top of their daily limits."""

from __future__ import annotations

from typing import Any

import click

from cli.common import COUNT, NAME, Run, database_command
from usecases import accounts_admin

COLUMNS = ["id", "name", "messages", "renewal", "workspaces", "used", "reserved", "remaining"]


@click.group("pool")
def pool() -> None:
    """Message pools shared by workspaces, on top of their daily limits."""


async def _listed(run: Run) -> list[dict[str, Any]]:
    return await accounts_admin.pools_listed(run.conn)


async def _show(run: Run, pool_id: str, text: str | None = None) -> None:
    [row] = [p for p in await _listed(run) if p["id"] == pool_id]
    run.show({column: row[column] for column in COLUMNS}, text)


@pool.command("create")
@click.argument("name", type=NAME)
@click.option("--messages", type=COUNT, required=True, help="The pool's size, in messages.")
@click.option("--monthly", is_flag=True, help="Renew the pool each month (UTC); without it, never.")
@database_command
async def pool_create(run: Run, name: str, messages: int, monthly: bool) -> None:
    """Create the pool NAME; prints its id."""
    renewal = "monthly" if monthly else "none"
    pool_id = await accounts_admin.create_pool(run.conn, name, messages, renewal)
    await _show(run, pool_id, text=pool_id)


@pool.command("resize")
@click.argument("pool_ref", metavar="POOL")
@click.option("--messages", type=COUNT, required=True, help="The pool's new size, in messages.")
@database_command
async def pool_resize(run: Run, pool_ref: str, messages: int) -> None:
    """Change the size of POOL (its id or name)."""
    pool_id = await accounts_admin.resize_pool(run.conn, pool_ref, messages)
    await _show(run, pool_id)


@pool.command("attach")
@click.argument("pool_ref", metavar="POOL")
@click.argument("workspaces", nargs=-1, required=True, metavar="WORKSPACE...")
@database_command
async def pool_attach(run: Run, pool_ref: str, workspaces: tuple[str, ...]) -> None:
    """Make each WORKSPACE draw on POOL (its id or name)."""
    pool_id = await accounts_admin.attach(run.conn, pool_ref, list(workspaces))
    assert pool_id is not None
    await _show(run, pool_id)


@pool.command("detach")
@click.argument("workspaces", nargs=-1, required=True, metavar="WORKSPACE...")
@database_command
async def pool_detach(run: Run, workspaces: tuple[str, ...]) -> None:
    """Make each WORKSPACE draw on no pool."""
    await accounts_admin.attach(run.conn, None, list(workspaces))
    run.show([{"workspace_id": w, "pool_id": None} for w in workspaces])


@pool.command("list")
@database_command
async def pool_list(run: Run) -> None:
    """Pools, how many workspaces draw on each, and what is used, reserved and left."""
    run.show_table(await _listed(run), COLUMNS)
