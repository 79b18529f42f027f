"""What every `wmgw` command shares: its transaction, its output, its error, and the lookups
that turn what an operator types (an email, a workspace id, a key) into rows (those the console
shares live in usecases/accounts_admin.py; their refusals are printed as CLI errors)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cli.output import as_json, picked, table
from domain import keys
from domain.errors import GatewayError
from domain.ratelimit import MAX_LIMIT
from gateway.settings import Settings
from storage import accounts
from storage.engine import create_engine
from storage.migrate import upgrade
from usecases.accounts_admin import (
    CHANGED_MEANWHILE,
    counted,
    plan_row,
    user_id,
    workspace_row,
)

JSON_HELP = "Print JSON (an object or a list) instead of text."
PER_MINUTE = click.IntRange(1, MAX_LIMIT)
COUNT = click.IntRange(0, 2**31 - 1)  # the limit columns are 32-bit integers
MAX_KEY_ID = 40  # the api_keys.id column


class CliError(click.ClickException):
    """A refusal in plain words: printed as `wmgw: <message>`, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"wmgw: {self.message}", err=True)


@dataclass
class Run:
    """One command's database connection (one transaction), settings and output. The output
    is printed once the transaction has committed: nothing is shown for a change undone."""

    conn: AsyncConnection
    settings: Settings
    json: bool
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for standard error

    def show(self, data: Any, text: str | None = None) -> None:
        """`data` with `--json`, else `text` (if any)."""
        if self.json:
            self.lines.append(as_json(data))
        elif text is not None:
            self.lines.append(text)

    def show_table(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str],
        json_columns: Sequence[str] | None = None,
    ) -> None:
        """The rows as a table, or with `--json` as a list of objects (with `json_columns`,
        ids a person needs no column for)."""
        self.show(picked(rows, json_columns or columns), table(rows, columns))

    def note(self, text: str) -> None:
        if not self.json:
            self.notes.append(text)


Action = Callable[..., Awaitable[None]]


class Name(click.ParamType):
    """A name that fits its column: refused as a usage error rather than by the database."""

    name = "TEXT"

    def __init__(self, longest: int) -> None:
        self.longest = longest

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            self.fail("a name cannot be empty", param, ctx)
        if len(text) > self.longest:
            self.fail(f"a name of at most {self.longest} characters", param, ctx)
        return text


PLAN_NAME = Name(64)
NAME = Name(200)  # of workspaces, users, keys and pools


def settings() -> Settings:
    """The settings of this run: the environment's, unless the caller passed some (`obj`)."""
    root = click.get_current_context().find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings.from_env()
    return root.obj


def database_command(action: Action) -> Callable[..., None]:
    """A command that runs `action(run, **params)` in one transaction, after applying pending
    migrations; it takes `--json`."""

    @functools.wraps(action)
    def command(json: bool, **params: Any) -> None:
        current = settings()
        upgrade(current.database_url)
        run = asyncio.run(_in_transaction(current, json, action, params))
        for line in run.lines:
            click.echo(line)
        for line in run.notes:
            click.echo(f"wmgw: {line}", err=True)

    return json_option(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", is_flag=True, help=JSON_HELP)(command)


async def _in_transaction(
    current: Settings, json: bool, action: Action, params: dict[str, Any]
) -> Run:
    engine = create_engine(current.database_url)
    try:
        async with engine.begin() as conn:
            run = Run(conn, current, json)
            await action(run, **params)
        return run
    except IntegrityError:
        # The checks before each change name the usual conflicts; this is one that appeared
        # meanwhile (another command or the gateway changed the same rows).
        raise CliError(CHANGED_MEANWHILE) from None
    except GatewayError as refused:  # a rule of usecases/accounts_admin.py, in the same words
        raise CliError(refused.message) from None
    finally:
        await engine.dispose()


async def key_row(conn: AsyncConnection, id_or_key: str) -> dict[str, Any]:
    """A key named by its id or by the whole key (`wm_v2.<key-id>.<secret>.<signature>`)."""
    key_id = id_or_key
    if id_or_key.startswith(f"{keys.PREFIX}."):
        key_id = keys.key_id_of(id_or_key) or ""
        if not key_id:  # never echoed: it may be most of a secret
            raise CliError("that is neither a key id nor a whole key (wm_v2.<id>.<secret>.<sig>)")
    found = await accounts.find_key(conn, key_id)
    if found is None:
        named = f" {key_id!r}" if len(key_id) <= MAX_KEY_ID else ""  # a long one may be a secret
        raise CliError(f"no key{named} (`wmgw key list` shows them)")
    return found


def rate_limit_options(omitted: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for unit, name in (("tpm", "tokens"), ("rpm", "requests")):
            command = click.option(
                f"--{unit}",
                type=PER_MINUTE,
                help=f"{name.capitalize()} per minute (1 to {MAX_LIMIT}); omit for {omitted}.",
            )(command)
        return command

    return decorate


__all__ = ["counted", "plan_row", "user_id", "workspace_row"]  # re-exported
