"""The load generator's HTTP/1.1 client: one keep-alive connection as a raw asyncio protocol with
httptools' response parser, the request it sends, and the check of each answer."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httptools

now = time.perf_counter


class Response:
    __slots__ = ("status", "started", "first", "done", "body", "keep_alive")

    def __init__(self, started: float) -> None:
        self.status = 0
        self.started = started
        self.first = 0.0
        self.done = 0.0
        self.body: list[bytes] = []
        self.keep_alive = True


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, on_first: Callable[[], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.response: Response | None = None
        self.closed = False
        self.on_first = on_first

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed by server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_headers_complete(self) -> None:
        if self.response is not None:
            self.response.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        response = self.response
        if response is None:
            return
        if not response.first:
            response.first = now()
            if self.on_first is not None:
                self.on_first()
        response.body.append(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is None:
            return
        response.done = now()
        if not response.first:
            response.first = response.done
        response.keep_alive = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    async def send(self, payload: bytes, timeout: float) -> Response:
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        self.response = Response(now())
        self.transport.write(payload)
        timer = loop.call_later(timeout, self._timeout, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _timeout(self, waiter: asyncio.Future) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError("request timed out"))
            self.close()


async def connect(host: str, port: int, on_first: Callable[[], None] | None = None) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: Conn(on_first), host, port)
    sock = conn.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def build_request(spec: dict[str, Any]) -> bytes:
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    lines = [
        f"POST {spec['path']} HTTP/1.1",
        f"Host: {spec['host']}:{spec['port']}",
        "Content-Type: application/json",
        "Accept: " + ("text/event-stream" if spec["body"].get("stream") else "application/json"),
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in (spec.get("headers") or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def check(response: Response, stream: bool, expect_chunks: int) -> str | None:
    """None when the answer is a complete, successful one; else what was wrong."""
    body = b"".join(response.body)
    if response.status != 200:
        return f"HTTP {response.status}: {body[:200]!r}"
    if stream:
        if not body.rstrip().endswith(b"data: [DONE]"):
            return f"stream not ended by [DONE]: {body[-120:]!r}"
        got = body.count(b'"content":"')
        if got < expect_chunks:
            return f"stream had {got} content chunks, expected {expect_chunks}"
    elif b'"chat.completion"' not in body:
        return f"not a chat.completion: {body[:200]!r}"
    return None
