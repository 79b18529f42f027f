"""The upstream HTTP client's connections: one keep-alive connection reused, never one the
server closed, that expired, or whose stream was left unread; a limit that makes callers wait;
a connection closed when its caller leaves; and no cookie kept between calls."""

from __future__ import annotations

import asyncio

import pytest

from providers.http.client import TimedOut, Timeouts
from tests.http_client_helpers import client, echo_forever, read_request, response, serving


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


async def test_a_client_with_other_timeouts_shares_the_same_connections() -> None:
    async with serving(echo_forever) as server, client() as http:
        quick = http.with_timeouts(Timeouts(connect=1, read=1, answer=1))
        assert (await http.post(f"{server.url}/", content=b"a")).content == b"a"
        assert (await quick.post(f"{server.url}/", content=b"b")).content == b"b"
        assert server.connections == 1


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
