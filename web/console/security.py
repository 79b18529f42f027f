"""console.yaml's `session` security scheme: the signed session cookie, checked against the
database, and for every state-changing request its CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import ApiKeySecurityHandler
from starlette.requests import HTTPConnection

from domain.errors import InvalidApiKey, PermissionDenied
from web.console.sessions import Sessions, csrf_ok, token_info

SIGNED_OUT = "Your console session has ended or was never started: sign in at /console/sign-in."
CSRF_REFUSED = "Missing or wrong CSRF token: send the page's token in the X-CSRF-Token header."


def session_security(sessions: Sessions) -> type[ApiKeySecurityHandler]:
    async def check(request: ConnexionRequest) -> dict[str, Any]:
        connection = HTTPConnection(request.scope)
        session = await sessions.of(connection)
        if session is None:
            raise InvalidApiKey(SIGNED_OUT, code="invalid_session")
        if not csrf_ok(session, connection, request.scope["method"]):
            raise PermissionDenied(CSRF_REFUSED, code="csrf_failed")
        return token_info(session)

    class SessionCookie(ApiKeySecurityHandler):
        def get_fn(
            self, security_scheme: dict[str, Any], required_scopes: Any
        ) -> Callable[..., Any]:
            return check

    return SessionCookie
