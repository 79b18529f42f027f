"""What the upstream HTTP client is set up with: TLS verified against trusted roots, the
proxies of the settings' environment, and the aiohttp version its patch was written for."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from providers.http.client import ConnectFailed
from providers.http.proxies import Proxies
from tests.certificates import self_signed
from tests.http_client_helpers import client, echo_forever, read_request, response, serving


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for 127.0.0.1, and a client context
    that trusts it."""
    cert_file, key_file = self_signed(tmp_path, "127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    return server, trusting


async def test_tls_is_verified_against_trusted_roots(tmp_path: Path) -> None:
    server_tls, trusting = _self_signed(tmp_path)
    async with serving(echo_forever, tls=server_tls) as server:
        url = f"https://127.0.0.1:{server.port}/"
        async with client() as http:
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await http.post(url, content=b"x")
        async with client(ssl_context=trusting) as http:
            assert (await http.post(url, content=b"secure")).content == b"secure"
            assert (await http.post(url, content=b"again")).content == b"again"
    assert server.connections == 1  # one kept-alive connection (the refused one never got in)


async def test_calls_go_through_the_proxy_of_the_settings_environment() -> None:
    """An http upstream through HTTP_PROXY: the proxy gets the absolute URL. NO_PROXY lists
    hosts that are reached directly."""
    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await read_request(reader)
        lines.append(line)
        writer.write(response(b"via proxy"))
        await writer.drain()

    async with serving(proxy) as forward, serving(echo_forever) as upstream:
        environ = {"HTTP_PROXY": forward.url}
        async with client(proxies=Proxies(environ)) as http:
            answer = await http.post("http://upstream.example/v1/x", content=b"direct?")
        assert answer.content == b"via proxy"
        assert lines == [b"POST http://upstream.example/v1/x HTTP/1.1"]
        bypass = Proxies({**environ, "NO_PROXY": "localhost,127.0.0.1"})
        async with client(proxies=bypass) as http:
            answer = await http.post(f"{upstream.url}/", content=b"direct")
        assert answer.content == b"direct"


def test_the_patch_of_aiohttp_refuses_a_version_it_was_not_written_for(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    from providers.http import aiohttp_compat

    aiohttp_compat.check_version()  # the installed one
    monkeypatch.setattr(aiohttp, "__version__", "4.0.0")
    with pytest.raises(RuntimeError, match="written for aiohttp 3.14"):
        aiohttp_compat.check_version()
