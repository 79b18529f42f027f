"""What the upstream HTTP client sends and reads: body framings (length, chunks, until close),
compression, flow control, interim answers, size limits, header values it refuses to send, an
upstream answering before the upload ends, and redirects handed back unfollowed."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import pytest

from providers.http.client import TooLarge, Unsendable
from tests.http_client_helpers import (
    answer_once,
    client,
    echo_forever,
    read_request,
    response,
    serving,
)


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
