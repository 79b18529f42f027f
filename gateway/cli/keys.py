"""`wmgw key ...`: developer keys (a new key is printed once, alone on its line)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys
from gateway.cli.common import CliError, Subparsers, group, rate_limit_options, table, user_id
from gateway.settings import Settings
from storage import accounts


async def key_create(conn: AsyncConnection, args: argparse.Namespace, settings: Settings) -> int:
    owner = await user_id(conn, args.user)
    new = keys.generate(settings.server_secret)
    expires = (
        datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    await accounts.create_key(
        conn,
        key_id=new.key_id,
        user_id=owner,
        secret_hash=new.secret_hash,
        name=args.name,
        expires_at=expires,
        rpm_limit=args.rpm,
        tpm_limit=args.tpm,
    )
    print(new.plaintext)  # the only time the key is ever shown
    return 0


async def key_list(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    owner = await user_id(conn, args.user) if args.user else None
    columns = [
        "id",
        "email",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "rpm_limit",
        "tpm_limit",
    ]
    table(await accounts.list_keys(conn, owner), columns)
    return 0


async def key_revoke(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.revoke_key(conn, args.key_id):
        raise CliError(f"no active key {args.key_id!r}")
    print(f"revoked {args.key_id}")
    return 0


async def key_set_limits(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.set_key_limits(conn, args.key_id, args.rpm, args.tpm):
        raise CliError(f"no key {args.key_id!r}")
    return 0


def register(sub: Subparsers) -> None:
    key = group(sub, "key")
    p = key.add_parser("create")
    p.add_argument("user", help="user id or email")
    p.add_argument("--name")
    p.add_argument("--expires-in-days", type=int)
    rate_limit_options(p, "the plan's default")
    p.set_defaults(run=key_create)
    p = key.add_parser("list")
    p.add_argument("--user")
    p.set_defaults(run=key_list)
    p = key.add_parser("set-limits", help="a key's own requests and tokens per minute")
    p.add_argument("key_id")
    rate_limit_options(p, "the plan's default")
    p.set_defaults(run=key_set_limits)
    p = key.add_parser("revoke")
    p.add_argument("key_id")
    p.set_defaults(run=key_revoke)
