"""`wmgw migrate` and `wmgw bootstrap`: a database ready to serve, and a first key."""

from __future__ import annotations

import click

from cli.common import Run, database_command, json_option, settings
from cli.output import as_json
from gateway.bootstrap import (
    OWNER_EMAIL,
    another_key,
    base_url,
    bootstrap,
    console_url,
    try_it,
)
from storage import accounts
from storage.migrate import head_revision, upgrade


@click.command("migrate")
@json_option
def migrate(json: bool) -> None:
    """Create the database, or upgrade it to this version's schema (Alembic). Every other
    command does this first too."""
    upgrade(settings().database_url)
    if json:
        click.echo(as_json({"migrated": True, "revision": head_revision()}))


@click.command("bootstrap")
@database_command
async def bootstrap_command(run: Run) -> None:
    """First run: when no developer key exists, create the plans free, pro and team, a Local
    workspace, its owner (a site admin of the console, with a one-time password) and a key,
    printed once with lines to try it. Once any key exists,
    creates nothing and says how to make another key."""
    made = await bootstrap(run.conn, run.settings.server_secret)
    if made is None:
        owner = OWNER_EMAIL if await accounts.find_user(run.conn, OWNER_EMAIL) else None
        run.show({"created": False, "owner": owner}, another_key(owner))
        return
    url = base_url(run.settings.environ)
    fields = {"key_id": made.key_id, "user_id": made.user_id, "email": made.email}
    report = {"created": True, "key": made.key, **fields, "workspace_id": made.workspace_id}
    console = {"console_url": console_url(url), "password": made.password}
    run.show({**report, "base_url": url, **console}, try_it(url, made.key, made.password))
