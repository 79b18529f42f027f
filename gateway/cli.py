"""`wmgw`: the management CLI, working on the same database as the server.

wmgw migrate                                   create or upgrade the database
wmgw bootstrap                                 first run: a local user with a key, printed once
wmgw plan create NAME [--daily-messages N] [--daily-images N]   (omit N for unlimited)
wmgw plan set-limit NAME [--daily-messages N]
wmgw plan set-image-limit NAME [--daily-images N]
wmgw plan list
wmgw workspace create NAME --plan PLAN
wmgw workspace list
wmgw user create EMAIL [--name NAME] [--workspace ID]
wmgw user list
wmgw user use USER WORKSPACE                   set the user's current workspace
wmgw member add USER WORKSPACE [--role ROLE]
wmgw key create USER [--name NAME] [--expires-in-days N]   prints the key alone, once
wmgw key list [--user USER]
wmgw key revoke KEY_ID
wmgw usage [--workspace ID] [--days N]         requests, tokens and messages per day
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys, sealing
from domain.videos import period_of
from gateway.catalog_file import load_catalog
from gateway.settings import Settings
from providers import rows
from providers.openrouter_models import catalog_rows
from storage import accounts, image_usage, provider_keys, synced_models, usage, videos
from storage.engine import create_engine
from storage.migrate import upgrade

Command = Callable[[AsyncConnection, argparse.Namespace, Settings], Awaitable[int]]


class CliError(Exception):
    pass


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


async def _user_id(conn: AsyncConnection, id_or_email: str) -> str:
    user = await accounts.find_user(conn, id_or_email)
    if user is None:
        raise CliError(f"no user {id_or_email!r}")
    return str(user["id"])


async def plan_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    await accounts.create_plan(conn, args.name, args.daily_messages)
    if args.daily_images is not None:
        await image_usage.set_plan_limit(conn, args.name, args.daily_images)
    print(args.name)
    return 0


async def plan_set_image_limit(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    if not await image_usage.set_plan_limit(conn, args.name, args.daily_images):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def plan_set_limit(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.set_plan_limit(conn, args.name, args.daily_messages):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def plan_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    columns = [
        "name",
        "daily_message_limit",
        "daily_image_limit",
        "monthly_video_seconds",
        "created_at",
    ]
    _table(await accounts.list_plans(conn), columns)
    return 0


async def plan_set_video_seconds(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    if not await videos.set_monthly_grant(conn, args.name, args.monthly):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def workspace_video_seconds(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    month = args.month or period_of(datetime.now(UTC))
    pool = await videos.workspace_pool(conn, args.workspace, month)
    if pool is None:
        raise CliError(f"no workspace {args.workspace!r}")
    row = {"month": month, "granted": pool.limit, "used": pool.used, "remaining": pool.remaining}
    _table([row], ["month", "granted", "used", "remaining"])
    return 0


async def workspace_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    print(await accounts.create_workspace(conn, args.name, args.plan))
    return 0


async def workspace_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    _table(await accounts.list_workspaces(conn), ["id", "name", "plan", "members", "created_at"])
    return 0


async def user_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    user_id = await accounts.create_user(conn, args.email, args.name)
    if args.workspace:
        await accounts.add_member(conn, user_id, args.workspace, "owner")
    print(user_id)
    return 0


async def user_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    _table(await accounts.list_users(conn), ["id", "email", "name", "current_workspace_id"])
    return 0


async def user_use(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    user_id = await _user_id(conn, args.user)
    if not await accounts.set_current_workspace(conn, user_id, args.workspace):
        raise CliError("the user is not a member of that workspace")
    return 0


async def member_add(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    await accounts.add_member(conn, await _user_id(conn, args.user), args.workspace, args.role)
    return 0


async def key_create(conn: AsyncConnection, args: argparse.Namespace, settings: Settings) -> int:
    user_id = await _user_id(conn, args.user)
    new = keys.generate(settings.server_secret)
    expires = (
        datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    await accounts.create_key(
        conn,
        key_id=new.key_id,
        user_id=user_id,
        secret_hash=new.secret_hash,
        name=args.name,
        expires_at=expires,
    )
    print(new.plaintext)  # the only time the key is ever shown
    return 0


async def key_list(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    user_id = await _user_id(conn, args.user) if args.user else None
    columns = ["id", "email", "name", "created_at", "last_used_at", "expires_at", "revoked_at"]
    _table(await accounts.list_keys(conn, user_id), columns)
    return 0


async def key_revoke(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.revoke_key(conn, args.key_id):
        raise CliError(f"no active key {args.key_id!r}")
    print(f"revoked {args.key_id}")
    return 0


async def usage_report(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    since = datetime.now(UTC) - timedelta(days=args.days)
    rows = await usage.daily_report(conn, args.workspace, since)
    columns = [
        "day",
        "workspace_id",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "messages",
        "video_seconds",
    ]
    _table(rows, columns)
    return 0


def _openrouter_list(settings: Settings, provider: str, file: str | None) -> dict[str, Any]:
    """OpenRouter's model list, from its API (the provider row's base URL) or a saved file."""
    if file:
        return dict(json.loads(Path(file).read_text()))
    row = _provider_row(settings, provider)
    url = rows.base_url(row, settings.environ)
    if not url:
        raise CliError(f"provider {provider!r} has no base URL")
    key = rows.api_key(row, settings.environ)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(f"{url}/models", headers=headers, timeout=60)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise CliError(f"could not fetch {url}/models: {type(exc).__name__}") from exc
    return dict(response.json())


def _provider_row(settings: Settings, provider: str) -> dict[str, Any]:
    for row in load_catalog(settings.catalog_path).provider_rows:
        if row["name"] == provider:
            return row
    raise CliError(f"no provider {provider!r} in {settings.catalog_path}")


async def models_sync_openrouter(
    conn: AsyncConnection, args: argparse.Namespace, settings: Settings
) -> int:
    row = _provider_row(settings, args.provider)
    payload = _openrouter_list(settings, args.provider, args.file)
    models = catalog_rows(payload, args.provider, row.get("plans") or ["*"])
    count = await synced_models.replace(conn, args.provider, models)
    print(f"{count} models synced from {args.provider}; restart the gateway to list them")
    return 0


async def byok_set(conn: AsyncConnection, args: argparse.Namespace, settings: Settings) -> int:
    """The key is read from standard input, never from the command line (shell history)."""
    user_id = await _user_id(conn, args.user)
    if not args.provider_row_allows_byok:
        raise CliError(f"provider {args.provider!r} does not take users' own keys")
    key = sys.stdin.readline().strip()
    if not key:
        raise CliError("no key on standard input")
    sealed = sealing.seal(settings.server_secret, key, user_id)
    await provider_keys.put(conn, user_id, args.provider, sealed)
    print(f"{args.provider} key stored for {args.user}")
    return 0


async def byok_remove(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await provider_keys.remove(conn, await _user_id(conn, args.user), args.provider):
        raise CliError(f"{args.user} has no {args.provider} key")
    print(f"{args.provider} key removed for {args.user}")
    return 0


async def byok_list(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    providers = await provider_keys.providers_for(conn, await _user_id(conn, args.user))
    print("\n".join(providers) if providers else "(none)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wmgw", description="Manage the Writingmate gateway.")
    sub = parser.add_subparsers(dest="group", required=True)
    sub.add_parser("migrate", help="create or upgrade the database")
    sub.add_parser("bootstrap", help="first run: create a local user and print a key once")

    def group(name: str) -> Any:
        return sub.add_parser(name).add_subparsers(dest="action", required=True)

    plan = group("plan")
    p = plan.add_parser("create")
    p.add_argument("name")
    p.add_argument("--daily-messages", type=int, default=None)
    p.add_argument("--daily-images", type=int, default=None, help="images per day (POST /images)")
    p.set_defaults(run=plan_create)
    p = plan.add_parser("set-limit")
    p.add_argument("name")
    p.add_argument("--daily-messages", type=int, default=None)
    p.set_defaults(run=plan_set_limit)
    p = plan.add_parser("set-image-limit", help="change a plan's daily image limit")
    p.add_argument("name")
    p.add_argument("--daily-images", type=int, default=None, help="omit for unlimited")
    p.set_defaults(run=plan_set_image_limit)
    plan.add_parser("list").set_defaults(run=plan_list)
    p = plan.add_parser("set-video-seconds", help="video seconds per workspace and month")
    p.add_argument("name")
    p.add_argument("--monthly", type=int, default=None, help="omit for unlimited")
    p.set_defaults(run=plan_set_video_seconds)

    workspace = group("workspace")
    p = workspace.add_parser("create")
    p.add_argument("name")
    p.add_argument("--plan", required=True)
    p.set_defaults(run=workspace_create)
    workspace.add_parser("list").set_defaults(run=workspace_list)
    p = workspace.add_parser("video-seconds", help="a workspace's video seconds this month")
    p.add_argument("workspace")
    p.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
    p.set_defaults(run=workspace_video_seconds)

    user = group("user")
    p = user.add_parser("create")
    p.add_argument("email")
    p.add_argument("--name")
    p.add_argument("--workspace", help="add the user to this workspace (as owner)")
    p.set_defaults(run=user_create)
    user.add_parser("list").set_defaults(run=user_list)
    p = user.add_parser("use")
    p.add_argument("user")
    p.add_argument("workspace")
    p.set_defaults(run=user_use)

    member = group("member")
    p = member.add_parser("add")
    p.add_argument("user")
    p.add_argument("workspace")
    p.add_argument("--role", default="member")
    p.set_defaults(run=member_add)

    key = group("key")
    p = key.add_parser("create")
    p.add_argument("user", help="user id or email")
    p.add_argument("--name")
    p.add_argument("--expires-in-days", type=int)
    p.set_defaults(run=key_create)
    p = key.add_parser("list")
    p.add_argument("--user")
    p.set_defaults(run=key_list)
    p = key.add_parser("revoke")
    p.add_argument("key_id")
    p.set_defaults(run=key_revoke)

    models = group("models")
    p = models.add_parser("sync-openrouter", help="sync OpenRouter's model list into the catalog")
    p.add_argument("--provider", default="openrouter", help="the provider row to sync")
    p.add_argument("--file", help="read the list from a saved /models response instead")
    p.set_defaults(run=models_sync_openrouter)

    byok = group("byok")
    p = byok.add_parser("set", help="store a user's own upstream key, read from standard input")
    p.add_argument("user")
    p.add_argument("--provider", default="openrouter")
    p.set_defaults(run=byok_set)
    p = byok.add_parser("remove")
    p.add_argument("user")
    p.add_argument("--provider", default="openrouter")
    p.set_defaults(run=byok_remove)
    p = byok.add_parser("list", help="the providers a user has their own key for")
    p.add_argument("user")
    p.set_defaults(run=byok_list)

    p = sub.add_parser("usage", help="requests, tokens and messages per day")
    p.add_argument("--workspace")
    p.add_argument("--days", type=int, default=30)
    p.set_defaults(run=usage_report)
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
    if args.group == "migrate":
        upgrade(settings.database_url)
        return 0
    if args.group == "bootstrap":
        from gateway.bootstrap import bootstrap

        upgrade(settings.database_url)
        return asyncio.run(bootstrap(settings))
    upgrade(settings.database_url)
    try:
        if args.group == "byok" and args.action == "set":
            args.provider_row_allows_byok = bool(_provider_row(settings, args.provider).get("byok"))
        return asyncio.run(_run(args.run, args, settings))
    except CliError as exc:
        print(f"wmgw: {exc}", file=sys.stderr)
        return 1
    except IntegrityError as exc:
        print(f"wmgw: refused by the database: {exc.orig}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
