"""`wmgw byok ...`: users' own upstream keys, sealed, never shown again."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import sealing
from gateway.cli.common import CliError, Subparsers, group, user_id
from gateway.cli.models import provider_row
from gateway.settings import Settings
from storage import provider_keys


async def byok_set(conn: AsyncConnection, args: argparse.Namespace, settings: Settings) -> int:
    """The key is read from standard input, never from the command line (shell history)."""
    owner = await user_id(conn, args.user)
    if not provider_row(settings, args.provider).get("byok"):
        raise CliError(f"provider {args.provider!r} does not take users' own keys")
    key = sys.stdin.readline().strip()
    if not key:
        raise CliError("no key on standard input")
    sealed = sealing.seal(settings.server_secret, key, owner)
    await provider_keys.put(conn, owner, args.provider, sealed)
    print(f"{args.provider} key stored for {args.user}")
    return 0


async def byok_remove(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await provider_keys.remove(conn, await user_id(conn, args.user), args.provider):
        raise CliError(f"{args.user} has no {args.provider} key")
    print(f"{args.provider} key removed for {args.user}")
    return 0


async def byok_list(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    providers = await provider_keys.providers_for(conn, await user_id(conn, args.user))
    print("\n".join(providers) if providers else "(none)")
    return 0


async def byok_reseal(conn: AsyncConnection, _a: argparse.Namespace, settings: Settings) -> int:
    """After the server secret changed: every key sealed under the previous secret (read from
    standard input) is sealed again under the current one, in one transaction."""
    previous = sys.stdin.readline().strip().encode()
    if not previous:
        raise CliError("no previous server secret on standard input")
    counts = dict.fromkeys(("resealed", "already current", "unopenable"), 0)
    for owner, provider, sealed in await provider_keys.all_sealed(conn):
        outcome, resealed = _reseal(previous, settings.server_secret, sealed, owner)
        if resealed is not None:
            await provider_keys.replace_sealed(conn, owner, provider, resealed)
        counts[outcome] += 1
    print(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
    return 0


def _reseal(previous: bytes, current: bytes, sealed: str, owner: str) -> tuple[str, str | None]:
    """What happened to one key, and its new sealed form. A key that opens under neither
    secret is left alone: its user sets it again (`wmgw byok set`)."""
    try:
        return "resealed", sealing.seal(current, sealing.unseal(previous, sealed, owner), owner)
    except sealing.Unsealable:
        pass
    try:
        sealing.unseal(current, sealed, owner)
    except sealing.Unsealable:
        return "unopenable", None
    return "already current", None


def register(sub: Subparsers) -> None:
    byok = group(sub, "byok")
    p = byok.add_parser("set", help="store a user's own upstream key, read from standard input")
    p.add_argument("user")
    p.add_argument("--provider", default="openrouter")
    p.set_defaults(run=byok_set)
    p = byok.add_parser("remove")
    p.add_argument("user")
    p.add_argument("--provider", default="openrouter")
    p.set_defaults(run=byok_remove)
    p = byok.add_parser(
        "reseal",
        help="after changing the server secret: seal every key again under the new one "
        "(the previous secret is read from standard input)",
    )
    p.set_defaults(run=byok_reseal)
    p = byok.add_parser("list", help="the providers a user has their own key for")
    p.add_argument("user")
    p.set_defaults(run=byok_list)
