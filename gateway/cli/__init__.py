"""`wmgw`: the management CLI, working on the same database as the server. One module per
command group; `wmgw --help` lists them all."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from gateway.cli import byok, keys, models, plans, pools, usage, users, workspaces
from gateway.cli.common import CliError, Command
from gateway.settings import Settings
from storage.engine import create_engine
from storage.migrate import upgrade

GROUPS = (plans, pools, workspaces, users, keys, models, byok, usage)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wmgw", description="Manage the Writingmate gateway.")
    sub = parser.add_subparsers(dest="group", required=True)
    sub.add_parser("migrate", help="create or upgrade the database")
    sub.add_parser("bootstrap", help="first run: create a local user and print a key once")
    for module in GROUPS:
        module.register(sub)
    return parser


async def _run(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            return await command(conn, args, settings)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    upgrade(settings.database_url)
    if args.group == "migrate":
        return 0
    if args.group == "bootstrap":
        from gateway.bootstrap import bootstrap

        return asyncio.run(bootstrap(settings))
    try:
        return asyncio.run(_run(args.run, args, settings))
    except CliError as exc:
        print(f"wmgw: {exc}", file=sys.stderr)
        return 1
    except IntegrityError as exc:
        print(f"wmgw: refused by the database: {exc.orig}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
