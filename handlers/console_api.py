"""The console's JSON actions for the signed-in user (console.yaml): signing in and out, their
developer keys, their workspaces and usage, their own OpenRouter key. Keys are made exactly as
`wmgw key create` makes them (domain/keys.py, storage/accounts.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from domain import keys, passwords
from domain.errors import InvalidApiKey, NotFound, PermissionDenied
from storage import accounts
from storage import console as console_storage
from web.console import Console
from web.console.own_keys import last_four, remove, store
from web.console.pages import base_url, current_request
from web.console.sessions import same_token
from web.console.views import key_fields, usage_of, user_keys, workspaces_of

BYOK_PROVIDER = "openrouter"
WRONG_PASSWORD = "Incorrect email or password."
SIGN_IN_CSRF = "Missing or wrong CSRF token: reload the sign-in page and try again."


async def sign_in(console: Console, body: dict[str, Any]) -> Response:
    request = current_request()
    if not same_token(
        console.sessions.sign_in_cookie_token(request), request.headers.get("x-csrf-token")
    ):
        raise PermissionDenied(SIGN_IN_CSRF, code="csrf_failed")
    email = body["email"].strip()
    address = request.client.host if request.client else "unknown"
    await console.sign_in_limits.count(email, address)
    async with console.services.engine.connect() as conn:
        found = await console_storage.sign_in_row(conn, email)
    stored_hash = found["password_hash"] if found else None
    # argon2 takes a few hundred milliseconds of CPU: off the event loop.
    if not await asyncio.to_thread(passwords.matches, stored_hash, body["password"]):
        raise InvalidApiKey(WRONG_PASSWORD, code="invalid_credentials")
    assert found is not None
    cookie = await console.sessions.start(found["id"])
    response = JSONResponse({"object": "console.session", "user_id": found["id"]})
    console.sessions.set_session_cookie(response, request, cookie)
    return response


async def sign_out(console: Console, user: str) -> Response:
    request = current_request()
    await console.sessions.end(request)
    response = Response(status_code=204)
    console.sessions.clear(response, request)
    return response


async def list_keys(console: Console, user: str) -> dict[str, Any]:
    async with console.services.engine.connect() as conn:
        return {"object": "list", "data": await user_keys(conn, user)}


async def create_key(console: Console, user: str, body: dict[str, Any]) -> tuple[Any, int]:
    days = body.get("expires_in_days")
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    new = keys.generate(console.services.settings.server_secret)
    async with console.services.engine.begin() as conn:
        await accounts.create_key(
            conn,
            key_id=new.key_id,
            user_id=user,
            secret_hash=new.secret_hash,
            name=body["name"].strip(),
            expires_at=expires,
        )
        row = await accounts.find_key(conn, new.key_id)
    assert row is not None
    made = {
        "key": new.plaintext,
        **key_fields(row),
        "base_url": base_url(console, current_request()),
    }
    return made, 201


async def revoke_key(console: Console, user: str, key_id: str) -> dict[str, Any]:
    async with console.services.engine.begin() as conn:
        row = await accounts.find_key(conn, key_id)
        if row is None or row["user_id"] != user:  # another user's key is not named
            raise NotFound(f"You have no key {key_id!r}.", param="key_id", code="key_not_found")
        if row["revoked_at"] is None:
            await accounts.revoke_key(conn, key_id)
        row = await accounts.find_key(conn, key_id)
    console.services.auth.owners.discard(key_id)  # this process refuses it at once
    assert row is not None
    return key_fields(row)


async def list_workspaces(console: Console, user: str) -> dict[str, Any]:
    async with console.services.engine.connect() as conn:
        return {"object": "list", "data": await workspaces_of(conn, user)}


async def use_workspace(console: Console, user: str, body: dict[str, Any]) -> dict[str, Any]:
    async with console.services.engine.begin() as conn:
        if not await accounts.set_current_workspace(conn, user, body["workspace_id"]):
            raise _not_yours(body["workspace_id"])
    return {"object": "console.current_workspace", "workspace_id": body["workspace_id"]}


async def workspace_usage(console: Console, user: str, workspace_id: str) -> dict[str, Any]:
    async with console.services.engine.connect() as conn:
        mine = {w["id"]: w for w in await workspaces_of(conn, user)}
        if workspace_id not in mine:
            raise _not_yours(workspace_id)
        return await usage_of(conn, mine[workspace_id])


def _not_yours(workspace_id: str) -> PermissionDenied:
    # The same answer whether the workspace exists or not, as the API gives.
    return PermissionDenied(
        "You do not have access to this workspace.",
        param="workspace_id",
        code="workspace_forbidden",
    )


async def get_own_key(console: Console, user: str) -> dict[str, Any]:
    four = await last_four(console, user, BYOK_PROVIDER)
    return {"provider": BYOK_PROVIDER, "stored": four is not None, "last_four": four}


async def put_own_key(console: Console, user: str, body: dict[str, Any]) -> dict[str, Any]:
    await store(console, user, BYOK_PROVIDER, body["key"].strip())
    return await get_own_key(console, user)


async def delete_own_key(console: Console, user: str) -> dict[str, Any]:
    if not await remove(console, user, BYOK_PROVIDER):
        raise NotFound("You have no OpenRouter key stored.", code="no_own_key")
    return await get_own_key(console, user)
