"""The upstream HTTP client: aiohttp's, behind the few calls the providers make.

aiohttp is well kept and, measured on this project's upstream calls (bench/micro.py), costs
less CPU than any other client tried: 0.19 ms per non-streamed call and 0.29 ms per 16-chunk
stream, against 0.49/0.55 ms for httpx over aiohttp, 0.67/1.04 ms for httpx2 and 0.90/1.26 ms
for httpx over httpcore. This module keeps its API and its exceptions out of the providers:
they see `HttpClient`, `Response`, `StreamedResponse` and the `HttpError` tree below, which
providers/http/upstream.py maps onto the gateway's errors, once.

    HttpError
    ├── ConnectFailed     refused, unreachable, name not found, TLS refused
    ├── TimedOut          connect, first byte, a silence between chunks, or the whole call
    ├── Broken            cut mid-body, reset, not HTTP
    ├── TooLarge          a whole answer longer than `max_body` (never read into memory)
    └── Unsendable        a header value with a line break (never sent)

What it guarantees, each tested (tests/test_http_client_*.py): keep-alive connections, TLS
verified against the system's roots, no cookies kept, no redirects followed, compressed
answers decoded, a body cut short is an error (never a complete answer), proxies from the
`HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` variables of the settings' environment.
"""

from __future__ import annotations

import asyncio
import copy
import json as stdlib_json
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import aiohttp.abc
import orjson

from providers.http.aiohttp_compat import Connector
from providers.http.proxies import Proxies

Fields = Mapping[str, Any] | Iterable[tuple[str, Any]]
Files = Mapping[str, Any] | Iterable[tuple[str, Any]]
Content = bytes | AsyncIterator[bytes]


class HttpError(Exception):
    """The exchange with the upstream failed before an answer could be read whole."""


class ConnectFailed(HttpError):
    pass


class TimedOut(HttpError):
    pass


class Broken(HttpError):
    pass


class Unsendable(HttpError):
    pass


class TooLarge(HttpError):
    """A whole answer longer than the client reads (`max_body`)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: to connect; a streamed answer's wait for its first byte and each next one
    (`read`); a whole answer's wait for it (`answer`: an upstream sends nothing while it
    writes one); the whole call (None: no limit)."""

    connect: float = 10.0
    read: float = 120.0
    total: float | None = 1800.0
    answer: float = 600.0

    def for_aiohttp(self, whole: bool = False) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=self.total,
            connect=self.connect,
            sock_connect=self.connect,
            sock_read=self.answer if whole else self.read,
        )


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


class StreamedResponse:
    """An answer whose body is read as it arrives; `aclose()` lets its connection go (back to
    the pool when the body was read whole, closed otherwise)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers: Mapping[str, str] = response.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        async with _mapped():
            async for piece in self._response.content.iter_any():
                yield piece

    aiter_raw = aiter_bytes

    async def aread(self) -> bytes:
        async with _mapped():
            return await self._response.read()

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()  # unread: the connection cannot serve another call


@asynccontextmanager
async def _mapped() -> AsyncIterator[None]:
    """aiohttp's failures as this module's."""
    try:
        yield
    except aiohttp.ClientConnectorError as exc:
        raise ConnectFailed(str(exc)) from exc
    except (aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise TimedOut(str(exc) or "timed out") from exc
    except TimeoutError as exc:  # the whole call's limit
        raise TimedOut("the upstream call took longer than its limit") from exc
    except aiohttp.InvalidURL as exc:
        raise ConnectFailed(f"invalid URL: {exc}") from exc
    except (aiohttp.ClientError, ConnectionError) as exc:
        raise Broken(str(exc) or type(exc).__name__) from exc


def _checked(headers: Mapping[str, str]) -> Mapping[str, str]:
    for name, value in headers.items():
        if any(c in name or c in str(value) for c in "\r\n\x00"):
            raise Unsendable(f"the header {name!r} holds a line break; it was not sent")
    return headers


def _form(data: Fields | None, files: Files | None) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    items = data.items() if isinstance(data, Mapping) else data or []
    for name, value in items:
        form.add_field(name, str(value))
    parts = files.items() if isinstance(files, Mapping) else files or []
    for name, (filename, content, content_type) in parts:
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form


class HttpClient:
    """One per worker, shared by every upstream call; created outside the event loop, its
    aiohttp session on first use."""

    def __init__(
        self,
        max_connections: int = 4096,
        timeouts: Timeouts | None = None,
        proxies: Proxies | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_seconds: float = 15.0,
        max_body: int = 64 << 20,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.max_body = max_body
        self.timeouts = timeouts or Timeouts()
        self.proxies = proxies or Proxies({})
        self.ssl_context = ssl_context
        self.keepalive_seconds = keepalive_seconds
        self.resolver = resolver  # None: aiohttp's (providers/http/outbound.py brings its own)
        self._shared: list[aiohttp.ClientSession] = []  # one session, shared by with_timeouts

    def with_timeouts(self, timeouts: Timeouts) -> HttpClient:
        """The same client (its connections, its session) with other timeouts: one per
        provider, from its deadlines."""
        view = copy.copy(self)
        view.timeouts = timeouts
        return view

    @property
    def _session(self) -> aiohttp.ClientSession | None:
        return self._shared[0] if self._shared else None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = Connector(
                limit=self.max_connections,
                limit_per_host=0,
                ssl=self.ssl_context if self.ssl_context is not None else True,
                ttl_dns_cache=300,
                keepalive_timeout=self.keepalive_seconds,
                resolver=self.resolver,
            )
            self._shared[:] = [
                aiohttp.ClientSession(
                    connector=connector,
                    cookie_jar=aiohttp.DummyCookieJar(),  # one client serves every caller
                    trust_env=False,  # proxies come from the settings' environment, below
                    auto_decompress=True,
                    json_serialize=lambda value: orjson.dumps(value).decode(),
                )
            ]
        return self._shared[0]

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: Content | None = None,
        json: Any = None,
        data: Fields | None = None,
        files: Files | None = None,
        params: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        whole: bool = False,
    ) -> aiohttp.ClientResponse:
        sent = dict(_checked(headers or {}))
        body: Any = content
        if json is not None:
            body = _json_bytes(json)
            sent.setdefault("Content-Type", "application/json")
        elif files is not None or data is not None:
            body = _form(data, files)
        timeout = (timeouts or self.timeouts).for_aiohttp(whole)
        async with _mapped():
            return await self._open().request(
                method,
                url,
                headers=sent,
                data=body,
                params=params,
                allow_redirects=False,
                proxy=self.proxies.for_url(url),
                timeout=timeout,
            )

    async def request(self, method: str, url: str, **options: Any) -> Response:
        """The whole answer, its body read (a body cut short is `Broken`)."""
        response = await self._send(method, url, whole=True, **options)
        try:
            async with _mapped():
                content = await _read_at_most(response, self.max_body)
        finally:
            response.release()
        return Response(response.status, response.headers, content)

    async def post(self, url: str, **options: Any) -> Response:
        return await self.request("POST", url, **options)

    async def get(self, url: str, **options: Any) -> Response:
        return await self.request("GET", url, **options)

    async def delete(self, url: str, **options: Any) -> Response:
        return await self.request("DELETE", url, **options)

    async def open(self, method: str, url: str, **options: Any) -> StreamedResponse:
        """An answer whose body is still to be read; the caller must `aclose()` it."""
        return StreamedResponse(await self._send(method, url, **options))

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, **options: Any
    ) -> AsyncIterator[StreamedResponse]:
        response = await self.open(method, url, **options)
        try:
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)  # let aiohttp's transports close


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if response.content_length is not None:
        if response.content_length > limit:
            raise TooLarge(f"the answer is {response.content_length} bytes, over {limit}")
        return await response.read()
    parts, size = [], 0
    async for part in response.content.iter_chunked(1 << 16):
        size += len(part)
        if size > limit:
            raise TooLarge(f"the answer is over {limit} bytes")
        parts.append(part)
    return b"".join(parts)


def _json_bytes(value: Any) -> bytes:
    """orjson, or the stdlib for what orjson refuses (non-string keys), as httpx's `json=`."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return stdlib_json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


__all__ = [
    "TooLarge",
    "Broken",
    "ConnectFailed",
    "HttpClient",
    "HttpError",
    "Response",
    "StreamedResponse",
    "TimedOut",
    "Timeouts",
    "Unsendable",
]
