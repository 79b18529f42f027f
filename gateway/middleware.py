"""Plain ASGI middleware: a request id on every response, a 500 in OpenAI's envelope for any
failure nothing else answered, and a cap on request bodies."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import GatewayError, PayloadTooLarge
from gateway.failures import unexpected
from gateway.rate_limit_headers import RATE_REPORT, RateReport

REQUEST_ID = "wmgw.request_id"
HEADERS = "wmgw.headers"  # the request's headers by (lower-case) name, built once by BodyLimit


def new_request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


class RequestId:
    """Stamps `x-request-id` on every response, errors included (the id is in the scope for
    the handlers and the ledger), and the key's `x-ratelimit-*` headers when the rate-limit
    checks left any in the scope's RateReport: one wrapper of `send` for both.

    Outermost, it also answers what escaped everything else (a middleware's failure, one
    after a response began): logged with the request id, and a 500 envelope naming it if no
    response had started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID] = new_request_id()
        report = scope[RATE_REPORT] = RateReport()
        header = (b"x-request-id", request_id.encode())
        started = False

        async def stamped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
                if report.requests is not None or report.tokens is not None:
                    message["headers"] += report.headers()
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception as exc:  # noqa: BLE001 - the last place that can still answer
            error = unexpected(request_id, exc)
            if not started:
                await send_error(stamped, error)


async def send_error(send: Send, error: GatewayError) -> None:
    """An error in OpenAI's envelope, from a middleware (outside Connexion's error handlers)."""
    body = json.dumps(error.body()).encode()
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses bodies over their operation's limit (`limits`, by method and path; `max_bytes`
    for the others) with 413, by Content-Length or while reading (a chunked body)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, limits: Mapping[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = dict(limits or {})

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {limit} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope[HEADERS] = dict(scope.get("headers", []))
        limit = self.limits.get((scope["method"], scope["path"]), self.max_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, self._too_large(limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise self._too_large(limit)
            return message

        await self.app(scope, counted, send)
