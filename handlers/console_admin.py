"""The console's admin actions (console.yaml), for site admins only (`users.is_admin`: the
owner `make run` creates, or anyone `wmgw user set-admin` names). Each applies the rule `wmgw`
applies, from usecases/accounts_admin.py, so its refusals read as the CLI's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict, PermissionDenied
from storage import accounts, members
from storage.console import Session
from usecases import accounts_admin
from usecases.accounts_admin import PLAN_LIMITS
from web.console import Console

ADMINS_ONLY = "Only site admins can manage accounts (`wmgw user set-admin` makes one)."
NOT_YOURSELF = "You cannot delete yourself here: another admin or `wmgw user delete` can."
PLAN_FIELDS = ("name", *PLAN_LIMITS)
POOL_FIELDS = ("id", "name", "messages", "renewal", "workspaces", "used", "reserved", "remaining")
MEMBER_FIELDS = ("workspace_id", "user_id", "email", "role", "current")
Answer = tuple[dict[str, Any], int]


def _admin(token_info: dict[str, Any]) -> Session:
    session: Session = token_info["session"]
    if not session.is_admin:
        raise PermissionDenied(ADMINS_ONLY, code="admin_only")
    return session


@asynccontextmanager
async def _changing(console: Console, token_info: dict[str, Any]) -> AsyncIterator[AsyncConnection]:
    """One transaction, for site admins only."""
    _admin(token_info)
    try:
        async with console.services.engine.begin() as conn:
            yield conn
    except IntegrityError:
        # The rules' checks name the usual conflicts; this one appeared meanwhile.
        raise Conflict(accounts_admin.CHANGED_MEANWHILE, code="conflict") from None


async def list_accounts(console: Console, token_info: dict[str, Any]) -> dict[str, Any]:
    _admin(token_info)
    async with console.services.engine.connect() as conn:
        users = await accounts.list_users(conn)
        return {
            "users": [
                {k: _plain(u[k]) for k in ("id", "email", "name", "is_admin", "created_at")}
                for u in users
            ],
            "workspaces": [
                {k: _plain(w[k]) for k in ("id", "name", "plan", "pool_id", "members")}
                for w in await accounts.list_workspaces(conn)
            ],
            "memberships": [
                {k: _plain(m[k]) for k in MEMBER_FIELDS} for m in await members.list_members(conn)
            ],
            "plans": [{k: p[k] for k in PLAN_FIELDS} for p in await accounts.list_plans(conn)],
        }


async def create_user(console: Console, token_info: dict[str, Any], body: dict[str, Any]) -> Answer:
    email = body["email"].strip()
    async with _changing(console, token_info) as conn:
        user_id = await accounts_admin.create_user(conn, email, body.get("name") or None)
    return {"id": user_id, "email": email}, 201


async def delete_user(
    console: Console, token_info: dict[str, Any], account: str, force: bool = False
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        found = await accounts_admin.user_id(conn, account)
        if found == token_info["sub"]:
            raise Conflict(NOT_YOURSELF, code="cannot_delete_yourself")
        _, removed = await accounts_admin.delete_user(conn, account, force)
    return {"deleted": "user", "id": found, "removed": removed}


async def create_workspace(
    console: Console, token_info: dict[str, Any], body: dict[str, Any]
) -> Answer:
    name = body["name"].strip()
    async with _changing(console, token_info) as conn:
        workspace_id = await accounts_admin.create_workspace(conn, name, body["plan"])
    return {"id": workspace_id, "name": name, "plan": body["plan"]}, 201


async def delete_workspace(
    console: Console, token_info: dict[str, Any], workspace_id: str, force: bool = False
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        removed = await accounts_admin.delete_workspace(conn, workspace_id, force)
    return {"deleted": "workspace", "id": workspace_id, "removed": removed}


async def attach_pool(
    console: Console, token_info: dict[str, Any], workspace_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        pool_id = await accounts_admin.attach(conn, body["pool"], [workspace_id])
    return {"workspace_id": workspace_id, "pool_id": pool_id}


async def detach_pool(
    console: Console, token_info: dict[str, Any], workspace_id: str
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        await accounts_admin.attach(conn, None, [workspace_id])
    return {"workspace_id": workspace_id, "pool_id": None}


async def add_member(console: Console, token_info: dict[str, Any], body: dict[str, Any]) -> Answer:
    workspace_id, role = body["workspace_id"], body.get("role", "member")
    async with _changing(console, token_info) as conn:
        user_id = await accounts_admin.add_member(conn, body["user"], workspace_id, role)
    return {"user_id": user_id, "workspace_id": workspace_id, "role": role}, 201


async def set_role(
    console: Console,
    token_info: dict[str, Any],
    workspace_id: str,
    account: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        user_id = await accounts_admin.set_role(conn, account, workspace_id, body["role"])
        [row] = await members.list_members(conn, workspace_id, user_id)
    return {k: row[k] for k in MEMBER_FIELDS}


async def remove_member(
    console: Console, token_info: dict[str, Any], workspace_id: str, account: str
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        user_id, current = await accounts_admin.remove_member(conn, account, workspace_id)
    return {
        "removed": "membership",
        "user_id": user_id,
        "workspace_id": workspace_id,
        "current_workspace_id": current,
    }


async def create_plan(console: Console, token_info: dict[str, Any], body: dict[str, Any]) -> Answer:
    limits = {name: body[name] for name in PLAN_LIMITS if name in body}
    async with _changing(console, token_info) as conn:
        await accounts_admin.create_plan(conn, body["name"], limits)
        return await _plan(conn, body["name"]), 201


async def change_plan(
    console: Console, token_info: dict[str, Any], plan: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        await accounts_admin.change_plan(conn, plan, body)
        return await _plan(conn, plan)


async def delete_plan(
    console: Console,
    token_info: dict[str, Any],
    plan: str,
    force: bool = False,
    move_to: str | None = None,
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        done = await accounts_admin.delete_plan(conn, plan, move_to, force)
    return {
        "deleted": "plan",
        "name": plan,
        "moved_to": move_to if done.moved else None,
        "moved_workspaces": done.moved,
        "deleted_workspaces": done.deleted,
    }


async def create_pool(console: Console, token_info: dict[str, Any], body: dict[str, Any]) -> Answer:
    renewal = "monthly" if body.get("monthly") else "none"
    async with _changing(console, token_info) as conn:
        pool_id = await accounts_admin.create_pool(conn, body["name"], body["messages"], renewal)
        return await _pool(conn, pool_id), 201


async def resize_pool(
    console: Console, token_info: dict[str, Any], pool: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with _changing(console, token_info) as conn:
        pool_id = await accounts_admin.resize_pool(conn, pool, body["messages"])
        return await _pool(conn, pool_id)


async def _plan(conn: AsyncConnection, name: str) -> dict[str, Any]:
    row = await accounts_admin.plan_row(conn, name)
    return {k: row[k] for k in PLAN_FIELDS}


async def _pool(conn: AsyncConnection, pool_id: str) -> dict[str, Any]:
    [row] = [p for p in await accounts_admin.pools_listed(conn) if p["id"] == pool_id]
    return {k: row[k] for k in POOL_FIELDS}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
