"""`wmgw pool ...`: message pools that several workspaces share, on top of their daily limits."""

from __future__ import annotations

from typing import Any

import click

from domain.quota import pool_period
from gateway.cli.common import COUNT, NAME, CliError, Run, database_command, workspace_row
from storage import pools

RENEWALS = ("monthly", "none")
COLUMNS = ["id", "name", "messages", "renewal", "workspaces", "used", "reserved", "remaining"]


@click.group("pool")
def pool() -> None:
    """Message pools shared by workspaces, on top of their daily limits."""


async def _pool_id(run: Run, id_or_name: str) -> str:
    found = await pools.find(run.conn, id_or_name)
    if found is None:
        raise CliError(f"no pool {id_or_name!r} (`wmgw pool list` shows them)")
    return str(found["id"])


async def _listed(run: Run) -> list[dict[str, Any]]:
    periods = {renewal: pool_period(renewal) for renewal in RENEWALS}
    return await pools.listing(run.conn, periods)


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
    if await pools.find(run.conn, name) is not None:
        raise CliError(f"a pool named {name!r} exists already")
    pool_id = await pools.create(run.conn, name, messages, "monthly" if monthly else "none")
    await _show(run, pool_id, text=pool_id)


@pool.command("resize")
@click.argument("pool_ref", metavar="POOL")
@click.option("--messages", type=COUNT, required=True, help="The pool's new size, in messages.")
@database_command
async def pool_resize(run: Run, pool_ref: str, messages: int) -> None:
    """Change the size of POOL (its id or name)."""
    pool_id = await _pool_id(run, pool_ref)
    await pools.resize(run.conn, pool_id, messages)
    await _show(run, pool_id)


@pool.command("attach")
@click.argument("pool_ref", metavar="POOL")
@click.argument("workspaces", nargs=-1, required=True, metavar="WORKSPACE...")
@database_command
async def pool_attach(run: Run, pool_ref: str, workspaces: tuple[str, ...]) -> None:
    """Make each WORKSPACE draw on POOL (its id or name)."""
    pool_id = await _pool_id(run, pool_ref)
    for workspace_id in workspaces:
        await workspace_row(run.conn, workspace_id)
        await pools.attach(run.conn, pool_id, workspace_id)
    await _show(run, pool_id)


@pool.command("detach")
@click.argument("workspaces", nargs=-1, required=True, metavar="WORKSPACE...")
@database_command
async def pool_detach(run: Run, workspaces: tuple[str, ...]) -> None:
    """Make each WORKSPACE draw on no pool."""
    for workspace_id in workspaces:
        await workspace_row(run.conn, workspace_id)
        await pools.attach(run.conn, None, workspace_id)
    run.show([{"workspace_id": w, "pool_id": None} for w in workspaces])


@pool.command("list")
@database_command
async def pool_list(run: Run) -> None:
    """Pools, how many workspaces draw on each, and what is used, reserved and left."""
    run.show_table(await _listed(run), COLUMNS)
