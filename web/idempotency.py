"""`Idempotency-Key` on every POST of the API, as a plain ASGI middleware.

The official SDKs retry 408, 409, 429, 5xx and broken connections, so a network blip after the
upstream answered would run (and charge) a request twice. A POST carrying `Idempotency-Key`
runs once per developer key and key for 24 hours; its retries get its answer
(web/idempotency_runs.py). Requests without the header pass through untouched, at the
cost of one look at the method and the headers.

The key is scoped to the developer key that sent it, read from the Bearer token by its
signature alone (no database read); a token that is not one of ours passes through, and the
app answers 401. The body is read whole to fingerprint the request, then handed to the app.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from domain import keys
from domain.errors import GatewayError
from domain.idempotency import fingerprint, parse_key
from storage.idempotency import Attempt
from web.idempotency_runs import IdempotentRuns
from web.middleware import HEADERS, REQUEST_ID, new_request_id, send_error
from web.recording import read_body

API_BASE = "/api/openai/v1/"  # the spec's `servers` url
Headers = dict[bytes, bytes]


def headers_of(scope: Scope) -> Headers:
    """The request's headers by lower-case name: BodyLimit's, or built here without it."""
    headers = scope.get(HEADERS)
    return headers if headers is not None else dict(scope["headers"])


def developer_key_id(headers: Headers, server_secret: bytes) -> str | None:
    """The id of the developer key in `Authorization: Bearer`, if its signature is ours."""
    authorization = headers.get(b"authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    parsed = keys.parse(server_secret, token.strip())
    return parsed.key_id if parsed is not None else None


class Idempotency:
    def __init__(self, app: ASGIApp, runs: IdempotentRuns, server_secret: bytes) -> None:
        self.app = app
        self.runs = runs
        self.server_secret = server_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        value = headers.get(b"idempotency-key")
        key_id = None
        if value is not None and scope["path"].startswith(API_BASE):
            key_id = developer_key_id(headers, self.server_secret)
        if value is None or key_id is None:
            await self.app(scope, receive, send)
            return
        try:
            read = await self._read(scope, headers, receive, key_id, value)
        except GatewayError as error:  # a malformed key, or a body over the size limit
            await send_error(send, error)
            return
        if read is not None:
            attempt, body = read
            await self.runs.serve(attempt, body, self.app, scope, receive, send)

    async def _read(
        self, scope: Scope, headers: Headers, receive: Receive, key_id: str, value: bytes
    ) -> tuple[Attempt, bytes] | None:
        """The request as an attempt at its key, with its body; None if the client left."""
        idempotency_key = parse_key(value)
        body = await read_body(receive)
        if body is None:
            return None
        attempt = Attempt(
            key_id=key_id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                headers.get(b"x-writingmate-workspace", b""),
                headers.get(b"content-type", b""),
                body,
            ),
            request_id=scope.get(REQUEST_ID) or new_request_id(),
            owner=self.runs.owner,
        )
        return attempt, body
