"""The upstream HTTP client (providers/http/client.py, over aiohttp) against scripted HTTP/1.1
servers on loopback: keep-alive, body framings, flow control, timeouts, connection limits, TLS,
proxies, and the ways a server can misbehave."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.http.client import (
    Broken,
    ConnectFailed,
    HttpClient,
    TimedOut,
    Timeouts,
    TooLarge,
    Unsendable,
)
from providers.http.proxies import Proxies

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A loopback server running `handler` once per connection, counting connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for task in server.tasks:
            task.cancel()


@asynccontextmanager
async def client(**options: Any) -> AsyncIterator[HttpClient]:
    http = HttpClient(**{"max_connections": 10, **options})
    try:
        yield http
    finally:
        await http.aclose()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One request: its request line, its headers (lower-cased) and its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    line, *lines = head[:-4].split(b"\r\n")
    headers = {}
    for raw in lines:
        name, _, value = raw.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    else:
        body = b""
    return line, headers, body


def response(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 %s\r\ncontent-length: %d\r\n%s\r\n%s" % (status, len(body), headers, body)


def answer_once(raw: bytes) -> Handler:
    """A server that reads one request and sends `raw` back, then hangs up."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(raw)
        await writer.drain()

    return handler


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request on the connection with its own body."""
    while True:
        _, headers, body = await read_request(reader)
        cookie = headers.get(b"cookie", b"-")
        writer.write(response(body, b"x-cookie: " + cookie, b"set-cookie: session=secret"))
        await writer.drain()


async def test_requests_reuse_one_keep_alive_connection() -> None:
    async with serving(echo_forever) as server, client() as http:
        for n in range(3):
            answer = await http.post(f"{server.url}/echo", content=b"hello %d" % n)
            assert (answer.status_code, answer.content) == (200, b"hello %d" % n)
    assert server.connections == 1


async def test_a_cookie_set_by_an_upstream_is_never_sent_back() -> None:
    async with serving(echo_forever) as server, client() as http:
        first = await http.post(f"{server.url}/a", content=b"1")
        second = await http.post(f"{server.url}/b", content=b"2")
    assert first.headers["set-cookie"] == "session=secret"
    assert second.headers["x-cookie"] == "-"


async def test_a_json_body_arrives_with_its_length() -> None:
    seen: list[dict[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, headers, body = await read_request(reader)
        seen.append(headers)
        writer.write(response(line + b" " + body))
        await writer.drain()

    async with serving(handler) as server, client() as http:
        answer = await http.post(f"{server.url}/v1/x?a=1", json={"k": "v"})
    assert answer.content == b'POST /v1/x?a=1 HTTP/1.1 {"k":"v"}'
    assert seen[0][b"content-length"] == b"9"
    assert seen[0][b"host"] == f"127.0.0.1:{server.port}".encode()


async def test_a_compressed_answer_reaches_the_caller_decoded() -> None:
    """Upstreams compress when asked, and the client asks."""
    seen: list[dict[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers, _ = await read_request(reader)
        seen.append(headers)
        writer.write(response(gzip.compress(b'{"ok": true}'), b"content-encoding: gzip"))
        await writer.drain()

    async with serving(handler) as server, client() as http:
        answer = await http.post(f"{server.url}/", json={})
    assert answer.json() == {"ok": True}
    assert b"gzip" in seen[0][b"accept-encoding"]


async def test_a_body_of_unknown_length_is_sent_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(50):
            yield b"part %d;" % n

    async with serving(echo_forever) as server, client() as http:
        answer = await http.post(f"{server.url}/upload", content=parts())
    assert answer.content == b"".join(b"part %d;" % n for n in range(50))


async def test_a_chunked_stream_arrives_piece_by_piece() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await writer.drain()
        await read_request(reader)  # the connection is kept for the next request
        writer.write(response(b"again"))
        await writer.drain()

    async with serving(handler) as server, client() as http:
        async with http.stream("POST", f"{server.url}/s", content=b"x") as answer:
            pieces = answer.aiter_raw()
            assert await anext(pieces) == b"first"
            release.set()
            assert [piece async for piece in pieces] == [b"second"]
        assert (await http.get(f"{server.url}/next")).content == b"again"
    assert server.connections == 1


async def test_a_body_without_length_is_read_until_the_server_closes() -> None:
    handler = answer_once(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it")
    async with serving(handler) as server, client() as http:
        assert (await http.get(f"{server.url}/")).content == b"all of it"
        assert (await http.get(f"{server.url}/")).content == b"all of it"
    assert server.connections == 2


async def test_a_large_body_arrives_whole_through_flow_control() -> None:
    blob = bytes(range(256)) * 40_000  # 10 MB, far above the pause threshold
    received = bytearray()
    async with (
        serving(answer_once(response(blob))) as server,
        client() as http,
        http.stream("GET", f"{server.url}/big") as answer,
    ):
        async for piece in answer.aiter_raw():
            received += piece
            await asyncio.sleep(0)  # a slow reader, so the transport has to pause
    assert bytes(received) == blob


async def test_interim_responses_are_skipped_and_no_content_has_no_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        await read_request(reader)
        writer.write(response(b"next"))
        await writer.drain()

    async with serving(handler) as server, client() as http:
        first = await http.post(f"{server.url}/", content=b"x")
        second = await http.post(f"{server.url}/", content=b"y")
    assert (first.status_code, first.content) == (204, b"")
    assert second.content == b"next"
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def one_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(b"ok"))
        await writer.drain()
        # then closes, as servers do with idle keep-alive connections

    async with serving(one_request) as server, client() as http:
        assert (await http.get(f"{server.url}/")).content == b"ok"
        await asyncio.sleep(0.05)
        assert (await http.get(f"{server.url}/")).content == b"ok"
    assert server.connections == 2


async def test_a_connection_idle_past_its_expiry_is_not_reused() -> None:
    async with serving(echo_forever) as server, client(keepalive_seconds=0.05) as http:
        assert (await http.post(f"{server.url}/", content=b"1")).content == b"1"
        assert (await http.post(f"{server.url}/", content=b"2")).content == b"2"
        await asyncio.sleep(0.1)
        assert (await http.post(f"{server.url}/", content=b"3")).content == b"3"
    assert server.connections == 2


async def test_a_stream_left_unread_does_not_return_its_connection_to_the_pool() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n")
            await writer.drain()

    async with serving(handler) as server, client() as http:
        for _ in range(2):
            async with http.stream("GET", f"{server.url}/") as answer:
                assert await anext(answer.aiter_raw()) == b"hi"
    assert server.connections == 2


async def test_a_server_that_stops_mid_body_is_a_protocol_error() -> None:
    handler = answer_once(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
    async with serving(handler) as server, client() as http:
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")


async def test_a_server_that_closes_without_answering_is_a_protocol_error() -> None:
    async with serving(answer_once(b"")) as server, client() as http:
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")


async def test_a_malformed_response_is_a_protocol_error() -> None:
    async with serving(answer_once(b"SMTP ready\r\n\r\n")) as server, client() as http:
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")


async def test_garbage_after_a_response_is_the_upstreams_fault_and_spoils_its_connection() -> None:
    handler = answer_once(response(b"fine") + b"\x00garbage")
    async with serving(handler) as server, client() as http:
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")  # a new connection, the same garbage
    assert server.connections == 2


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(5)


async def test_a_silent_server_is_a_timeout_of_the_whole_answers_wait() -> None:
    async with serving(silent) as server, client() as http:
        with pytest.raises(TimedOut):
            await http.get(f"{server.url}/", timeouts=Timeouts(connect=5, read=5, answer=0.1))


async def test_a_stream_waits_for_its_headers_as_long_as_for_any_silence() -> None:
    async with serving(silent) as server, client() as http:
        with pytest.raises(TimedOut):
            await http.open("GET", f"{server.url}/", timeouts=Timeouts(read=0.1, answer=5))


async def test_a_client_with_other_timeouts_shares_the_same_connections() -> None:
    async with serving(echo_forever) as server, client() as http:
        quick = http.with_timeouts(Timeouts(connect=1, read=1, answer=1))
        assert (await http.post(f"{server.url}/", content=b"a")).content == b"a"
        assert (await quick.post(f"{server.url}/", content=b"b")).content == b"b"
        assert server.connections == 1


@pytest.mark.parametrize("framing", [b"content-length", b"close"])
async def test_an_answer_larger_than_the_client_reads_is_refused_unread(framing: bytes) -> None:
    big = b"x" * 200_000

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if framing == b"close":
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + big)
        else:
            writer.write(response(big))
        await writer.drain()

    async with serving(handler) as server, client(max_body=100_000) as http:
        with pytest.raises(TooLarge):
            await http.get(f"{server.url}/")


async def test_a_stream_that_goes_quiet_is_a_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with serving(handler) as server, client() as http:
        timeouts = Timeouts(connect=5, read=0.1)
        async with http.stream("GET", f"{server.url}/", timeouts=timeouts) as answer:
            pieces = answer.aiter_raw()
            assert await anext(pieces) == b"hi"
            with pytest.raises(TimedOut):
                await anext(pieces)


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(echo_forever) as server:
        url = server.url
    async with client() as http:
        with pytest.raises(ConnectFailed):
            await http.get(url)


async def test_the_connection_limit_makes_the_next_caller_wait_then_time_out() -> None:
    finish = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n")
            await writer.drain()
            await finish.wait()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with serving(handler) as server, client(max_connections=1) as http:
        timeouts = Timeouts(connect=0.1, read=5)
        async with http.stream("GET", f"{server.url}/") as held:
            with pytest.raises(TimedOut):
                await http.get(f"{server.url}/", timeouts=timeouts)
            waiting = asyncio.create_task(http.get(f"{server.url}/"))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            finish.set()
            await held.aread()
        assert (await waiting).content == b"hi"
    assert server.connections == 1


async def test_leaving_a_stream_early_closes_the_upstream_connection() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n")
        await writer.drain()
        assert await reader.read() == b""  # the client hung up
        closed.set()

    async with serving(handler) as server, client() as http:
        async with http.stream("GET", f"{server.url}/") as answer:
            async for _ in answer.aiter_raw():
                break
        await asyncio.wait_for(closed.wait(), 5)


async def test_a_cancelled_call_closes_its_connection() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        assert await reader.read() == b""
        closed.set()

    async with serving(handler) as server, client() as http:
        call = asyncio.create_task(http.get(f"{server.url}/slow"))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(closed.wait(), 5)


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for 127.0.0.1, and a client context
    that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
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


async def test_a_body_delimited_by_close_and_reset_part_way_is_never_complete() -> None:
    """No length, no chunks: the body ends when the server closes. A reset is not a close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart of it")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST, not FIN

    async with serving(handler) as server, client() as http:
        with pytest.raises(Broken):
            await http.get(f"{server.url}/")


async def test_a_header_value_with_a_line_break_is_never_sent() -> None:
    async with serving(echo_forever) as server, client() as http:
        with pytest.raises(Unsendable):
            await http.post(
                f"{server.url}/", content=b"x", headers={"Authorization": "Bearer k\r\nX-Evil: 1"}
            )
    assert server.connections == 0


async def test_a_413_while_the_body_is_uploading_is_the_upstreams_answer() -> None:
    """The upstream refuses a large upload from its headers, before reading its body."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response(b'{"error": "too large"}', status=b"413 Payload Too Large"))
        writer.write(b"")
        await writer.drain()
        writer.close()

    async def big() -> AsyncIterator[bytes]:
        for _ in range(400):
            yield b"x" * 65536
            await asyncio.sleep(0)

    async with serving(handler) as server, client() as http:
        answer = await http.post(f"{server.url}/upload", content=big())
    assert answer.status_code == 413


async def test_redirects_are_not_followed() -> None:
    handler = answer_once(response(b"", b"location: http://example.invalid/", status=b"302 Found"))
    async with serving(handler) as server, client() as http:
        answer = await http.get(f"{server.url}/")
    assert answer.status_code == 302


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
