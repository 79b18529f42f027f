"""`wmgw key ...`: developer keys. A new key is printed once, alone on its line; a key is
named by its id (the part after `wm_v2.`) or by the whole key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from cli.common import (
    NAME,
    CliError,
    Run,
    database_command,
    key_row,
    rate_limit_options,
    user_id,
)
from cli.output import utc, when
from domain import keys
from storage import accounts

COLUMNS = [
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
FIELDS = ["id", "user_id", *COLUMNS[1:]]  # what --json prints of a key
MAX_GRACE_MINUTES = 7 * 24 * 60
MAX_EXPIRY_DAYS = 100 * 366


@click.group("key")
def key() -> None:
    """Developer keys: wm_v2.<key-id>.<secret>.<signature>, shown once when made."""


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in FIELDS}


async def _issue(
    run: Run,
    owner: str,
    name: str | None,
    expires_at: datetime | None,
    rpm: int | None,
    tpm: int | None,
) -> dict[str, Any]:
    """A new key, stored: its row, with the whole key under `key` (its only showing)."""
    new = keys.generate(run.settings.server_secret)
    await accounts.create_key(
        run.conn,
        key_id=new.key_id,
        user_id=owner,
        secret_hash=new.secret_hash,
        name=name,
        expires_at=expires_at,
        rpm_limit=rpm,
        tpm_limit=tpm,
    )
    return {"key": new.plaintext, **_fields(await key_row(run.conn, new.key_id))}


@key.command("create")
@click.argument("user")
@click.option("--name", type=NAME, help="What the key is for (a laptop, a CI job), shown in lists.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, MAX_EXPIRY_DAYS),
    help="Days until it expires; omit for never.",
)
@rate_limit_options("the plan's default")
@database_command
async def key_create(
    run: Run,
    user: str,
    name: str | None,
    expires_in_days: int | None,
    rpm: int | None,
    tpm: int | None,
) -> None:
    """Make a key for USER (id or email); prints it once, alone on its line."""
    owner = await user_id(run.conn, user)
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    made = await _issue(run, owner, name, expires, rpm, tpm)
    run.show(made, made["key"])


@key.command("list")
@click.option("--user", help="Only the keys of USER (id or email).")
@database_command
async def key_list(run: Run, user: str | None) -> None:
    """Keys (never their secret), their owners, use, expiry, revocation and own rate limits."""
    owner = await user_id(run.conn, user) if user else None
    run.show_table(await accounts.list_keys(run.conn, owner), COLUMNS, FIELDS)


@key.command("set-limits")
@click.argument("key_ref", metavar="KEY")
@rate_limit_options("none of its own (the plan's default)")
@database_command
async def key_set_limits(run: Run, key_ref: str, rpm: int | None, tpm: int | None) -> None:
    """Set the rate limits of KEY (its id or the whole key)."""
    found = await key_row(run.conn, key_ref)
    await accounts.set_key_limits(run.conn, found["id"], rpm, tpm)
    run.show(_fields(await key_row(run.conn, found["id"])))


@key.command("revoke")
@click.argument("key_ref", metavar="KEY")
@database_command
async def key_revoke(run: Run, key_ref: str) -> None:
    """Revoke KEY (its id or the whole key): it stops working within WMGW_KEY_CACHE_SECONDS."""
    found = await key_row(run.conn, key_ref)
    _refuse_revoked(found)
    await accounts.revoke_key(run.conn, found["id"])
    revoked = await key_row(run.conn, found["id"])
    run.show(_fields(revoked), f"revoked {found['id']}")


@key.command("rotate")
@click.argument("key_ref", metavar="KEY")
@click.option(
    "--grace-minutes",
    type=click.IntRange(0, MAX_GRACE_MINUTES),
    default=0,
    show_default=True,
    help="Keep the old key working this many minutes, then it expires; 0 revokes it at once.",
)
@database_command
async def key_rotate(run: Run, key_ref: str, grace_minutes: int) -> None:
    """Replace KEY (its id or the whole key) with a new key of the same user (acting in the
    same current workspace), with the same name, expiry and rate limits; prints the new key
    once, alone on its line. The old key is revoked at once, or with --grace-minutes expires
    that much later (sooner if it was due to)."""
    old = await key_row(run.conn, key_ref)
    _refuse_revoked(old)
    now = datetime.now(UTC)
    if old["expires_at"] is not None and utc(old["expires_at"]) <= now:
        raise CliError(f"key {old['id']} expired at {when(old['expires_at'])}: nothing to rotate")
    made = await _issue(
        run, old["user_id"], old["name"], old["expires_at"], old["rpm_limit"], old["tpm_limit"]
    )
    if grace_minutes:
        await accounts.expire_key(run.conn, old["id"], now + timedelta(minutes=grace_minutes))
    else:
        await accounts.revoke_key(run.conn, old["id"])
    replaced = _fields(await key_row(run.conn, old["id"]))
    run.show({**made, "replaces": replaced}, made["key"])
    if replaced["revoked_at"] is not None:
        run.note(f"key {old['id']} is revoked; its replacement is {made['id']}")
    else:
        ends = when(replaced["expires_at"])
        run.note(f"key {old['id']} works until {ends}; its replacement is {made['id']}")


def _refuse_revoked(found: dict[str, Any]) -> None:
    if found["revoked_at"] is not None:
        raise CliError(f"key {found['id']} was revoked already, at {when(found['revoked_at'])}")
