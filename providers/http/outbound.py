"""GET a URL the gateway was handed rather than configured (an upstream's image link; a user's
URL would be the same): every address its host resolves to is checked (domain/fetch_rules.py),
and the connection goes to a checked address, never to the name again, so a name that resolves
elsewhere the second time (DNS rebinding) gains nothing.

The check is the resolver of a client of its own (`CheckedResolver`, given to aiohttp's
connector): aiohttp connects to the addresses it returns, in order, while TLS still verifies
the certificate against the URL's host. An address in the URL itself is checked before the
call (aiohttp does not resolve it). No proxy is used: a proxy would resolve the name again.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from ipaddress import ip_address

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from domain.errors import GatewayError, InvalidRequest, UpstreamError
from domain.fetch_rules import UNRESOLVED, FetchAllow, parse_allow, refusal
from providers.http.client import HttpClient, StreamedResponse, Timeouts
from providers.http.proxies import Proxies

ALLOW_SETTING = "WMGW_FETCH_ALLOW"
TIMEOUTS = Timeouts(connect=10.0, read=120.0, total=600.0)
RESOLVE_SECONDS = 10.0
SCHEMES = ("http", "https")

Resolver = Callable[[str, int], Awaitable[list[str]]]


def allow_from(env: Mapping[str, str]) -> FetchAllow:
    """The operator's `WMGW_FETCH_ALLOW` (ValueError at start-up when malformed)."""
    return parse_allow(env.get(ALLOW_SETTING, ""))


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order."""
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def refused(why: str, param: str | None) -> GatewayError:
    """A user's URL (`param` names its field) is a 400; an upstream's link is the upstream's
    failure."""
    if param is not None:
        return InvalidRequest(f"The URL in `{param}` {why}.", param=param, code="invalid_url")
    return UpstreamError(f"The upstream provider sent a link that {why}.")


class Refused(Exception):
    """Why a host must not be connected to; raised by the resolver, through aiohttp (which
    wraps only an OSError), to `get`."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class CheckedResolver(AbstractResolver):
    """A name's addresses, once every one of them passed the checks; aiohttp connects to
    these and to nothing else."""

    def __init__(self, allow: FetchAllow, resolve: Resolver = resolve_host) -> None:
        self.allow = allow
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError):
            addresses = []
        why = refusal(host, addresses, self.allow)
        if why is None and not addresses:  # an allowed host name that does not resolve
            why = UNRESOLVED
        if why is not None:
            raise Refused(why)
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        pass


def _result(host: str, address: str, port: int) -> ResolveResult:
    bare = address.split("%", 1)[0]
    family = socket.AF_INET6 if ip_address(bare).version == 6 else socket.AF_INET
    return ResolveResult(
        hostname=host, host=bare, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )


@asynccontextmanager
async def get(
    url: str,
    allow: FetchAllow,
    *,
    param: str | None = None,
    resolve: Resolver = resolve_host,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[StreamedResponse]:
    """The streamed response to `GET url`, once its host passed the checks. The client's
    errors (providers/http/client.py) pass through: the caller maps them like any upstream
    call's. `ssl_context`: None for the system's roots."""
    _check_literal(_parsed(url, param), allow, param)
    client = HttpClient(
        max_connections=8,
        timeouts=TIMEOUTS,
        proxies=Proxies({}),
        ssl_context=ssl_context,
        resolver=CheckedResolver(allow, resolve),
    )
    try:
        try:
            response = await client.open("GET", url)
        except Refused as refusal_:
            raise refused(refusal_.why, param) from None
        try:
            yield response
        finally:
            await response.aclose()
    finally:
        await client.aclose()


def _parsed(url: str, param: str | None) -> URL:
    try:
        target = URL(url)
    except (ValueError, TypeError):
        raise refused("is not a valid URL", param) from None
    if target.scheme not in SCHEMES or not target.host:
        raise refused("is not an http(s) URL", param)
    return target


def _check_literal(target: URL, allow: FetchAllow, param: str | None) -> None:
    """An address in the URL is connected to as it is, without the resolver."""
    host = str(target.raw_host)
    try:
        ip_address(host.split("%", 1)[0])
    except ValueError:
        return
    why = refusal(host, [host], allow)
    if why is not None:
        raise refused(why, param)
