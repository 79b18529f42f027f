"""The upstream HTTP/1.1 transport under httpx.AsyncClient: asyncio protocols with httptools'
parser (the one uvicorn serves with) and a keep-alive pool, raising httpx's own exceptions.

Why not a library transport: relaying an upstream call through httpcore or aiohttp cost the
gateway more CPU than everything else in a request put together (BENCHMARKS.md,
"Upstream transport"). This does only what the gateway needs from an upstream connection:
HTTP/1.1 over TCP or TLS, keep-alive, request bodies of known or unknown length, streamed
response bodies with flow control, and connect, read, write and pool timeouts. No proxies
(the client does not read them from the environment), no HTTP/2.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx

DEFAULT_PORTS = {b"http": 80, b"https": 443}
PAUSE_ABOVE = 1 << 18  # bytes of response body buffered before the socket stops being read
NO_BODY_STATUSES = frozenset({204, 304})

Origin = tuple[bytes, bytes, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request and one response at a time."""

    def __init__(self, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = 0.0
        self._writable: asyncio.Future[None] | None = None
        self._begin(head_only=False)

    def _begin(self, *, head_only: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.until_close = False
        self.keep_alive = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.error: httpx.TransportError | None = None
        self.waiter: asyncio.Future[None] | None = None

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.complete:
            # A server talking past its response, or on an idle connection: never reuse it.
            self.lost = True
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"Malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self.until_close and not self.complete:
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
        elif not self.complete:
            where = "a complete response" if self.head_done else "a response"
            self._fail(httpx.RemoteProtocolError(f"Server disconnected without sending {where}."))

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- httptools callbacks

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status < 200:
            return  # 1xx: an interim response; the real head follows
        self.head_done = True
        self.keep_alive = self.parser.should_keep_alive()  # only meaningful before the body
        if self.head_only or self.status in NO_BODY_STATUSES:
            self.complete = True
        elif not any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers
        ):
            self.until_close = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > PAUSE_ABOVE and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status < 200:
            self.reason, self.headers = b"", []
            return
        self.complete = True
        self._wake()

    # -- used by the transport

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, error: httpx.TransportError) -> None:
        # Garbage after a complete response spoils the connection, not the response.
        if self.error is None and not self.complete:
            self.error = error
        self.lost = True
        self.close()
        self._wake()

    def _timed_out(self, error: httpx.TimeoutException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    async def _wait(self, timeout: float | None) -> None:
        self.waiter = self.loop.create_future()
        timer = (
            self.loop.call_later(timeout, self._timed_out, httpx.ReadTimeout("Read timed out."))
            if timeout is not None
            else None
        )
        try:
            await self.waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and not self.lost
            and not self.until_close
            and not self.head_only
            and self.error is None
            and self.keep_alive
        )

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def send(self, request: httpx.Request, write_timeout: float | None) -> None:
        self._begin(head_only=request.method == "HEAD")
        if self.lost or self.transport is None:
            raise httpx.RemoteProtocolError("Server disconnected before the request was sent.")
        url = request.url
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), url.raw_path)]
        head.extend(b"%s: %s\r\n" % pair for pair in request.headers.raw)
        head.append(b"\r\n")
        if isinstance(request.stream, httpx.ByteStream):
            self.transport.write(b"".join(head) + request.content)
            await self._drain(write_timeout)
            return
        self.transport.write(b"".join(head))
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        async for part in request.stream:  # type: ignore[union-attr]
            if part:
                self.transport.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                await self._drain(write_timeout)
        if chunked:
            self.transport.write(b"0\r\n\r\n")
        await self._drain(write_timeout)

    async def _drain(self, timeout: float | None) -> None:
        if self.lost:
            raise self.error or httpx.WriteError("Server disconnected while the request was sent.")
        if self._writable is None or self._writable.done():
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._writable)
        except TimeoutError as exc:
            raise httpx.WriteTimeout("Write timed out.") from exc
        if self.lost:
            raise self.error or httpx.WriteError("Server disconnected while the request was sent.")

    async def read_head(self, timeout: float | None) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self._wait(timeout)
        if self.error is not None and not self.chunks:
            raise self.error

    async def read_chunk(self, timeout: float | None) -> bytes:
        """All of the body that has arrived and not been read, or b"" at its end. Pieces that
        arrived together go up together, so SSE events read at once are handled at once."""
        while not self.chunks:
            if self.error is not None:
                raise self.error
            if self.complete:
                return b""
            await self._wait(timeout)
        chunk = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk


class _Pool:
    """Keep-alive connections by origin, at most `max_connections` open in all."""

    def __init__(
        self,
        max_connections: int,
        max_idle: int,
        idle_expiry: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.max_connections = max_connections
        self.max_idle = max_idle
        self.idle_expiry = idle_expiry
        self.idle: dict[Origin, list[_Connection]] = {}
        self.open = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.ssl_context = ssl_context

    def _pop_idle(self, origin: Origin, now: float) -> _Connection | None:
        idle = self.idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.lost and now - connection.idle_since < self.idle_expiry:
                return connection
            self.discard(connection)
        return None

    def _close_oldest_idle(self) -> bool:
        oldest = min(
            (conns[0] for conns in self.idle.values() if conns),
            key=lambda c: c.idle_since,
            default=None,
        )
        if oldest is None:
            return False
        self.idle[oldest.origin].remove(oldest)
        self.discard(oldest)
        return True

    async def acquire(self, origin: Origin, timeouts: dict[str, Any]) -> _Connection:
        loop = asyncio.get_running_loop()
        while True:
            reused = self._pop_idle(origin, loop.time())
            if reused is not None:
                return reused
            if self.open < self.max_connections or self._close_oldest_idle():
                break
            await self._wait_for_slot(loop, timeouts.get("pool"))
        self.open += 1
        try:
            return await self._connect(loop, origin, timeouts.get("connect"))
        except BaseException:
            self.open -= 1
            self._notify()
            raise

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        slot = loop.create_future()
        self.waiting.append(slot)
        try:
            async with asyncio.timeout(timeout):
                await slot
        except TimeoutError as exc:
            raise httpx.PoolTimeout("No upstream connection became free in time.") from exc
        finally:
            if slot in self.waiting:
                self.waiting.remove(slot)

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        tls = scheme == b"https"
        if tls and self.ssl_context is None:
            self.ssl_context = httpx.create_ssl_context()
            self.ssl_context.set_alpn_protocols(["http/1.1"])
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(origin, loop),
                    host.decode("ascii"),
                    port,
                    ssl=self.ssl_context if tls else None,
                    server_hostname=host.decode("ascii") if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"Connecting to {host.decode()} timed out.") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"Could not connect to {host.decode()}: {exc}") from exc
        return connection

    def release(self, connection: _Connection) -> None:
        idle = self.idle.setdefault(connection.origin, [])
        if connection.reusable and len(idle) < self.max_idle:
            connection.idle_since = connection.loop.time()
            idle.append(connection)
            self._notify()
        else:
            self.discard(connection)

    def discard(self, connection: _Connection) -> None:
        connection.close()
        self.open -= 1
        self._notify()

    def _notify(self) -> None:
        while self.waiting:
            slot = self.waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                return

    def close_all(self) -> None:
        for conns in self.idle.values():
            for connection in conns:
                self.discard(connection)
        self.idle.clear()


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, pool: _Pool, connection: _Connection, read_timeout: float | None) -> None:
        self.pool = pool
        self.connection: _Connection | None = connection
        self.read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self.connection
        if connection is None:
            raise httpx.StreamClosed()
        while chunk := await connection.read_chunk(self.read_timeout):
            yield chunk

    async def aclose(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            self.pool.release(connection)


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        max_connections: int,
        max_idle_connections: int,
        idle_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`ssl_context` defaults to httpx's (certifi's roots), made on the first TLS call."""
        self._pool = _Pool(max_connections, max_idle_connections, idle_expiry, ssl_context)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {url.scheme!r}.")
        origin = (scheme, url.raw_host, url.port or DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout", {})
        connection = await self._pool.acquire(origin, timeouts)
        try:
            await connection.send(request, timeouts.get("write"))
            await connection.read_head(timeouts.get("read"))
        except BaseException:
            self._pool.discard(connection)
            raise
        return httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=_ResponseBody(self._pool, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason},
        )

    async def aclose(self) -> None:
        self._pool.close_all()
