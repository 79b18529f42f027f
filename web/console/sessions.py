"""Console sign-ins: a session per sign-in, kept in the database (signing out ends it at
once), named by a random id in a signed, HttpOnly, SameSite=Lax cookie; and the CSRF tokens
that every state-changing request must echo in `X-CSRF-Token`.

- Signed in: a synchronizer token, stored with the session and put in each page.
- Signing in: a double-submit token, signed in its own cookie and put in the sign-in page.

Cookies are signed with itsdangerous, so a tampered cookie is refused before any database
read; they are `Secure` when the request came over https or WMGW_PUBLIC_URL is https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, Signer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection
from starlette.responses import Response

from storage import console
from storage.console import Session

SESSION_COOKIE = "wmgw_session"
SIGN_IN_COOKIE = "wmgw_sign_in"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/console"
SESSION_LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _id_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


@dataclass(frozen=True)
class Sessions:
    engine: AsyncEngine
    server_secret: bytes
    public_url: str | None

    @property
    def _session_signer(self) -> Signer:
        return Signer(self.server_secret, salt="wmgw.console.session")

    @property
    def _sign_in_signer(self) -> Signer:
        return Signer(self.server_secret, salt="wmgw.console.sign-in")

    async def start(self, user_id: str) -> str:
        """A new session for the user: the cookie value to set."""
        raw = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + SESSION_LIFETIME
        async with self.engine.begin() as conn:
            await console.create_session(
                conn, _id_hash(raw), user_id, secrets.token_urlsafe(32), expires
            )
        return self._session_signer.sign(raw).decode()

    async def of(self, request: HTTPConnection) -> Session | None:
        """The request's session, unless its cookie is missing, tampered with or ended."""
        raw = self._raw(request.cookies.get(SESSION_COOKIE))
        if raw is None:
            return None
        async with self.engine.connect() as conn:
            return await console.session(conn, _id_hash(raw), datetime.now(UTC))

    async def end(self, request: HTTPConnection) -> None:
        raw = self._raw(request.cookies.get(SESSION_COOKIE))
        if raw is not None:
            async with self.engine.begin() as conn:
                await console.end_session(conn, _id_hash(raw))

    def _raw(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._session_signer.unsign(cookie).decode()
        except BadSignature:
            return None

    def sign_in_token(self, request: HTTPConnection) -> str:
        """The double-submit token of the sign-in form: the cookie's, or a new one."""
        current = self.sign_in_cookie_token(request)
        return current or secrets.token_urlsafe(32)

    def sign_in_cookie_token(self, request: HTTPConnection) -> str | None:
        cookie = request.cookies.get(SIGN_IN_COOKIE)
        if not cookie:
            return None
        try:
            return self._sign_in_signer.unsign(cookie).decode()
        except BadSignature:
            return None

    def secure(self, request: HTTPConnection) -> bool:
        return request.url.scheme == "https" or (self.public_url or "").startswith("https:")

    def set_session_cookie(self, response: Response, request: HTTPConnection, value: str) -> None:
        self._set(response, request, SESSION_COOKIE, value, int(SESSION_LIFETIME.total_seconds()))

    def set_sign_in_cookie(self, response: Response, request: HTTPConnection, token: str) -> None:
        signed = self._sign_in_signer.sign(token).decode()
        self._set(response, request, SIGN_IN_COOKIE, signed, 3600)

    def clear(self, response: Response, request: HTTPConnection) -> None:
        for name in (SESSION_COOKIE, SIGN_IN_COOKIE):
            response.delete_cookie(
                name, path=COOKIE_PATH, secure=self.secure(request), httponly=True, samesite="lax"
            )

    def _set(
        self, response: Response, request: HTTPConnection, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            secure=self.secure(request),
            httponly=True,
            samesite="lax",
        )


def csrf_ok(session: Session, request: HTTPConnection, method: str) -> bool:
    return method in SAFE_METHODS or same_token(
        session.csrf_token, request.headers.get(CSRF_HEADER)
    )


def token_info(session: Session) -> dict[str, Any]:
    return {"sub": session.user_id, "session": session}
