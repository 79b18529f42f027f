"""Plain ASGI middleware: a request id on every response, a 500 in OpenAI's envelope for any
failure nothing else answered, and a cap on request bodies."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from connexion.middleware.abstract import ROUTING_CONTEXT
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import GatewayError, PayloadTooLarge
from domain.ratelimit import RateReport
from gateway.failures import unexpected
from web.exchanges import EXCHANGE, Exchange, client_request_id
from web.rate_limit_headers import RATE_REPORT, rate_headers

if TYPE_CHECKING:
    from web.observer import RequestObserver

REQUEST_ID = "wmgw.request_id"
HEADERS = "wmgw.headers"  # the request's headers by (lower-case) name, built once by RequestId


def new_request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


class RequestId:
    """Stamps `x-request-id` on every response, errors included (the id is in the scope for
    the handlers and the ledger), and the key's `x-ratelimit-*` headers when the rate-limit
    checks left any in the scope's RateReport: one wrapper of `send` for both.

    The id is always the gateway's own, unique (the ledger's key); a well-formed `X-Request-Id`
    the client or a proxy sent is kept beside it in the request's log line.

    Outermost, it also answers what escaped everything else (a middleware's failure, one
    after a response began): logged with the request id, and a 500 envelope naming it if no
    response had started. Once the answer is over, the observer sees the request's Exchange
    (its metrics and log line)."""

    def __init__(self, app: ASGIApp, observer: RequestObserver | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID] = new_request_id()
        headers = scope[HEADERS] = dict(scope["headers"])
        exchange = scope[EXCHANGE] = Exchange(
            request_id,
            client_request_id(headers.get(b"x-request-id")),
            scope["method"],
            time.monotonic(),
        )
        report = scope[RATE_REPORT] = RateReport()
        header = (b"x-request-id", request_id.encode())
        observer = self.observer

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
                if report.requests is not None or report.tokens is not None:
                    message["headers"] += rate_headers(report)
                if exchange.streaming and exchange.status == 200 and observer is not None:
                    observer.stream_opened()
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception as exc:  # noqa: BLE001 - the last place that can still answer
            error = unexpected(request_id, exc)
            if not exchange.status:
                await send_error(stamped, error)
        finally:
            if observer is not None:
                if exchange.streaming and exchange.status == 200:
                    observer.stream_closed()
                observer.ended(exchange)


class NamesOperation:
    """Inside Connexion, once it has routed the request (its position: before security): the
    operation's id on the request's Exchange, for its log line and metrics. Connexion routes
    on a copy of the scope, which the outer middleware never sees."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = scope.get(EXCHANGE)
        if exchange is not None:
            routing = scope.get("extensions", {}).get(ROUTING_CONTEXT)
            exchange.operation = routing.get("operation_id") if routing else None
        await self.app(scope, receive, send)


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
        headers = scope.get(HEADERS)
        if headers is None:
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
