"""What every `wmgw` command shares: its signature, its error, and table output."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ratelimit import MAX_LIMIT
from gateway.settings import Settings
from storage import accounts

Command = Callable[[AsyncConnection, argparse.Namespace, Settings], Awaitable[int]]
Subparsers = Any  # argparse's private _SubParsersAction


class CliError(Exception):
    pass


def group(sub: Subparsers, name: str, help_text: str | None = None) -> Subparsers:
    """A command group (`wmgw plan ...`) whose actions are required."""
    return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


async def user_id(conn: AsyncConnection, id_or_email: str) -> str:
    user = await accounts.find_user(conn, id_or_email)
    if user is None:
        raise CliError(f"no user {id_or_email!r}")
    return str(user["id"])


def per_minute(text: str) -> int:
    """A rate limit on the command line: a whole number from 1 to MAX_LIMIT."""
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"a limit is from 1 to {MAX_LIMIT} a minute")
    return value


def rate_limit_options(parser: argparse.ArgumentParser, omitted: str) -> None:
    parser.add_argument("--rpm", type=per_minute, help=f"requests per minute; omit for {omitted}")
    parser.add_argument("--tpm", type=per_minute, help=f"tokens per minute; omit for {omitted}")
