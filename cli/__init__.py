"""`wmgw`: the management CLI, working on the same database as the server. One module per
command group; `wmgw --help` lists them all.

Built on Click: help text for every command and option, typed options (ranges, choices) that
are refused with a usage message, `--version`, and in-process runs for tests (CliRunner)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import click

from cli.byok import byok
from cli.keys import key
from cli.members import member
from cli.models import models
from cli.plans import plan
from cli.pools import pool
from cli.setup import bootstrap_command, migrate
from cli.usage import usage
from cli.users import user
from cli.workspaces import workspace

COMMANDS = (
    migrate,
    bootstrap_command,
    plan,
    pool,
    workspace,
    user,
    member,
    key,
    models,
    byok,
    usage,
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("wmgw", context_settings=CONTEXT)
@click.version_option(package_name="writingmate-gateway", prog_name="wmgw")
def cli() -> None:
    """Manage the Writingmate gateway: plans, workspaces, users, keys and usage.

    Works on the gateway's database (DATABASE_URL, else WMGW_DATA_DIR/gateway.db), applying
    pending migrations first. Every command takes --json for output programs can read; times
    are UTC, ISO 8601 with their offset. Errors go to standard error with exit status 1
    (2 for a misused command)."""


for command in COMMANDS:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `wmgw` console script: runs one command and exits with its status."""
    cli.main(args=argv, prog_name="wmgw")
    raise SystemExit(0)  # not reached: Click exits
