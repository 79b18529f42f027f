"""Console pages (console.yaml, text/html): each needs a session, else it redirects to the
sign-in page. What they show is read by web/console/views.py."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from storage import accounts, members, provider_keys
from usecases import accounts_admin
from web.console import Console
from web.console.chart import HEIGHT, WIDTH, bars
from web.console.own_keys import last_four
from web.console.pages import base_url, current_request, render, to_sign_in
from web.console.views import usage_of, user_keys, workspaces_of

BYOK_PROVIDER = "openrouter"


async def home(console: Console) -> Response:
    return RedirectResponse("/console/keys", status_code=303)


async def sign_in_page(console: Console) -> Response:
    request = current_request()
    if await console.sessions.of(request) is not None:
        return RedirectResponse("/console/keys", status_code=303)
    token = console.sessions.sign_in_token(request)
    response = render(console, "sign_in.html", None, title="Sign in", csrf=token)
    console.sessions.set_sign_in_cookie(response, request, token)
    return response


async def keys_page(console: Console) -> Response:
    request = current_request()
    session = await console.sessions.of(request)
    if session is None:
        return to_sign_in()
    async with console.services.engine.connect() as conn:
        keys = await user_keys(conn, session.user_id)
    return render(
        console,
        "keys.html",
        session,
        title="API Keys",
        keys=keys,
        base_url=base_url(console, request),
    )


async def workspaces_page(console: Console, workspace: str | None = None) -> Response:
    session = await console.sessions.of(current_request())
    if session is None:
        return to_sign_in()
    async with console.services.engine.connect() as conn:
        listed = await workspaces_of(conn, session.user_id)
        shown = next(
            (w for w in listed if w["id"] == (workspace or session.current_workspace_id)),
            listed[0] if listed else None,
        )
        usage = await usage_of(conn, shown) if shown else None
    return render(
        console,
        "workspaces.html",
        session,
        title="Workspaces and usage",
        workspaces=listed,
        shown=shown,
        usage=usage,
        bars=bars(usage["days"]) if usage else [],
        chart_width=WIDTH,
        chart_height=HEIGHT,
    )


async def byok_page(console: Console) -> Response:
    session = await console.sessions.of(current_request())
    if session is None:
        return to_sign_in()
    async with console.services.engine.connect() as conn:
        stored = BYOK_PROVIDER in await provider_keys.providers_for(conn, session.user_id)
    return render(
        console,
        "byok.html",
        session,
        title="Your OpenRouter key",
        stored=stored,
        last_four=await last_four(console, session.user_id, BYOK_PROVIDER),
    )


async def admin_page(console: Console) -> Response:
    session = await console.sessions.of(current_request())
    if session is None:
        return to_sign_in()
    if not session.is_admin:
        return render(console, "forbidden.html", session, status=403, title="Admin")
    async with console.services.engine.connect() as conn:
        data: dict[str, Any] = {
            "users": await accounts.list_users(conn),
            "workspaces": await accounts.list_workspaces(conn),
            "memberships": await members.list_members(conn),
            "plans": await accounts.list_plans(conn),
            "pools": await accounts_admin.pools_listed(conn),
        }
    return render(console, "admin.html", session, title="Admin", **data)
