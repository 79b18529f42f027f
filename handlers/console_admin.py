"""The console's admin actions (console.yaml), for site admins only (`users.is_admin`: the
owner `make run` creates, or anyone `wmgw user set-admin` names). They apply the CLI's rules
with the same domain checks and storage functions as `wmgw user create`,
`wmgw workspace create` and `wmgw member add`."""

from __future__ import annotations

from typing import Any

from domain.accounts import is_email
from domain.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from gateway.console import Console
from storage import accounts, members
from storage.console import Session

ADMINS_ONLY = "Only site admins can manage accounts (`wmgw user set-admin` makes one)."


def _admin(token_info: dict[str, Any]) -> Session:
    session: Session = token_info["session"]
    if not session.is_admin:
        raise PermissionDenied(ADMINS_ONLY, code="admin_only")
    return session


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
                {k: _plain(m[k]) for k in ("workspace_id", "user_id", "email", "role")}
                for m in await members.list_members(conn)
            ],
            "plans": [
                {k: _plain(p[k]) for k in ("name", "daily_message_limit", "daily_image_limit")}
                for p in await accounts.list_plans(conn)
            ],
        }


async def create_user(
    console: Console, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    _admin(token_info)
    email = body["email"].strip()
    if not is_email(email):
        raise InvalidRequest(f"Not an email address: {email!r}.", param="email")
    async with console.services.engine.begin() as conn:
        if await accounts.find_user(conn, email) is not None:
            raise Conflict(f"A user with email {email!r} exists already.", code="user_exists")
        user_id = await accounts.create_user(conn, email, body.get("name") or None)
    return {"id": user_id, "email": email}, 201


async def create_workspace(
    console: Console, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    _admin(token_info)
    async with console.services.engine.begin() as conn:
        if await accounts.find_plan(conn, body["plan"]) is None:
            raise NotFound(f"No plan {body['plan']!r}.", param="plan", code="plan_not_found")
        workspace_id = await accounts.create_workspace(conn, body["name"].strip(), body["plan"])
    return {"id": workspace_id, "name": body["name"].strip(), "plan": body["plan"]}, 201


async def add_member(
    console: Console, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    _admin(token_info)
    workspace_id, role = body["workspace_id"], body.get("role", "member")
    async with console.services.engine.begin() as conn:
        user = await accounts.find_user(conn, body["user"])
        if user is None:
            raise NotFound(f"No user {body['user']!r}.", param="user", code="user_not_found")
        if await accounts.find_workspace(conn, workspace_id) is None:
            raise NotFound(
                f"No workspace {workspace_id!r}.", param="workspace_id", code="workspace_not_found"
            )
        already = await members.role_of(conn, user["id"], workspace_id)
        if already is not None:
            raise Conflict(
                f"{user['email']} is already a member of {workspace_id} (as {already}).",
                code="already_member",
            )
        await accounts.add_member(conn, user["id"], workspace_id, role)
    return {"user_id": user["id"], "workspace_id": workspace_id, "role": role}, 201


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
