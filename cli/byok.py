"""`wmgw byok ...`: users' own upstream keys, sealed, never shown again. Keys and secrets are
read from standard input, never from the command line (which shell history keeps)."""

from __future__ import annotations

import sys

import click

from cli.common import CliError, Run, database_command, user_id
from cli.models import provider_row
from domain import sealing
from storage import provider_keys

PROVIDER_HELP = "The catalog's provider row the key is for."
OUTCOMES = ("resealed", "already current", "unopenable")


@click.group("byok")
def byok() -> None:
    """Users' own upstream keys (bring your own key), stored sealed."""


def _stdin_line() -> str:
    return sys.stdin.readline().strip()


@byok.command("set")
@click.argument("user")
@click.option("--provider", default="openrouter", show_default=True, help=PROVIDER_HELP)
@database_command
async def byok_set(run: Run, user: str, provider: str) -> None:
    """Store USER's own key for a provider, read from standard input (`< keyfile`)."""
    owner = await user_id(run.conn, user)
    if not provider_row(run.settings, provider).get("byok"):
        raise CliError(f"provider {provider!r} does not take users' own keys")
    key = _stdin_line()
    if not key:
        raise CliError("no key on standard input")
    sealed = sealing.seal(run.settings.server_secret, key, owner)
    await provider_keys.put(run.conn, owner, provider, sealed)
    report = {"user_id": owner, "provider": provider, "stored": True}
    run.show(report, f"{provider} key stored for {user}")


@byok.command("remove")
@click.argument("user")
@click.option("--provider", default="openrouter", show_default=True, help=PROVIDER_HELP)
@database_command
async def byok_remove(run: Run, user: str, provider: str) -> None:
    """Remove USER's own key for a provider."""
    owner = await user_id(run.conn, user)
    if not await provider_keys.remove(run.conn, owner, provider):
        raise CliError(f"{user} has no {provider} key")
    report = {"user_id": owner, "provider": provider, "removed": True}
    run.show(report, f"{provider} key removed for {user}")


@byok.command("list")
@click.argument("user")
@database_command
async def byok_list(run: Run, user: str) -> None:
    """The providers USER has their own key for (never the key)."""
    providers = await provider_keys.providers_for(run.conn, await user_id(run.conn, user))
    run.show(providers, "\n".join(providers) if providers else "(none)")


@byok.command("reseal")
@database_command
async def byok_reseal(run: Run) -> None:
    """After the server secret changed: seal every key sealed under the previous secret (read
    from standard input) again under the current one, in one transaction."""
    previous = _stdin_line().encode()
    if not previous:
        raise CliError("no previous server secret on standard input")
    counts = dict.fromkeys(OUTCOMES, 0)
    for owner, provider, sealed in await provider_keys.all_sealed(run.conn):
        outcome, resealed = _reseal(previous, run.settings.server_secret, sealed, owner)
        if resealed is not None:
            await provider_keys.replace_sealed(run.conn, owner, provider, resealed)
        counts[outcome] += 1
    text = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    run.show({outcome.replace(" ", "_"): n for outcome, n in counts.items()}, text)


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
