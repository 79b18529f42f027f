"""How the upstream HTTP client fails when a server misbehaves: protocol errors for broken or
reset answers, timeouts for silence, and a connect error for a refused connection."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from providers.http.client import Broken, ConnectFailed, TimedOut, Timeouts
from tests.http_client_helpers import (
    answer_once,
    client,
    echo_forever,
    read_request,
    response,
    serving,
)


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
