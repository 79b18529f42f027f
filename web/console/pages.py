"""Rendering console pages: the template, the signed-in user and the page's CSRF token, with
headers that keep the page out of frames and its script to the one the page carries."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from connexion.context import scope as current_scope
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, RedirectResponse, Response

from storage.console import Session

if TYPE_CHECKING:
    from web.console import Console

SIGN_IN_PATH = "/console/sign-in"
API_PATH = "/api/openai/v1"


def current_request() -> HTTPConnection:
    return HTTPConnection(current_scope._get_current_object())  # type: ignore[attr-defined]


def base_url(console: Console, request: HTTPConnection) -> str:
    """The API's URL as clients reach it: WMGW_PUBLIC_URL's, else the request's host."""
    root = console.services.settings.public_url or str(request.base_url).rstrip("/")
    return f"{root}{API_PATH}"


def render(
    console: Console, template: str, session: Session | None, status: int = 200, **data: Any
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = console.templates.get_template(template).render(
        session=session,
        csrf_token=session.csrf_token if session else data.pop("csrf", ""),
        nonce=nonce,
        **data,
    )
    return HTMLResponse(body, status_code=status, headers=_headers(nonce))


def _headers(nonce: str) -> dict[str, str]:
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        f"script-src 'nonce-{nonce}'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "content-security-policy": policy,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "cache-control": "no-store",
    }


def to_sign_in() -> Response:
    return RedirectResponse(SIGN_IN_PATH, status_code=303)
