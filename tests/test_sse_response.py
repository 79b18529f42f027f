"""gateway/sse_response.py driven as an ASGI app: frames ready together leave in one write,
none waits for a later one, a client leaving stops the frames (letting them finish their
clean-up), and a slow client stops the frames from being read far ahead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from gateway import sse_response
from gateway.sse_response import SSEResponse


class Client:
    """The ASGI server's side: records what was sent, and can disconnect."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.finished = False
        self.left = asyncio.Event()
        self.send_gate: asyncio.Event | None = None

    async def receive(self) -> dict[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
            assert (b"content-type", b"text/event-stream; charset=utf-8") in message["headers"]
            return
        if self.send_gate is not None:
            await self.send_gate.wait()
        if message.get("more_body"):
            self.bodies.append(message["body"])
        else:
            assert message["body"] == b""
            self.finished = True


async def serve(frames: AsyncIterator[bytes], client: Client) -> None:
    await SSEResponse(frames)({"type": "http"}, client.receive, client.send)


async def test_frames_ready_together_leave_in_one_write() -> None:
    async def frames() -> AsyncIterator[bytes]:
        for n in range(5):
            yield b"data: %d\n\n" % n

    client = Client()
    await serve(frames(), client)
    assert client.bodies == [b"".join(b"data: %d\n\n" % n for n in range(5))]
    assert client.finished


async def test_a_frame_is_sent_without_waiting_for_the_next() -> None:
    later = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        await later.wait()
        yield b"data: second\n\n"

    client = Client()
    serving = asyncio.create_task(serve(frames(), client))
    for _ in range(20):
        await asyncio.sleep(0)
    assert client.bodies == [b"data: first\n\n"]
    later.set()
    await serving
    assert client.bodies == [b"data: first\n\n", b"data: second\n\n"]


async def test_a_client_leaving_stops_the_frames_and_lets_them_clean_up() -> None:
    cleaned_up = asyncio.Event()
    forever = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await forever.wait()
            yield b"data: never\n\n"
        finally:
            await asyncio.sleep(0.01)  # settling the request takes a moment
            cleaned_up.set()

    client = Client()
    serving = asyncio.create_task(serve(frames(), client))
    await asyncio.sleep(0.01)
    client.left.set()
    await asyncio.wait_for(serving, 5)
    assert cleaned_up.is_set()
    assert client.bodies == [b"data: first\n\n"]
    assert not client.finished


async def test_a_slow_client_stops_the_frames_being_read_far_ahead(monkeypatch) -> None:
    monkeypatch.setattr(sse_response, "MAX_BUFFERED", 100)
    produced = 0

    async def frames() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(100):
            produced += 1
            yield b"x" * 40
            await asyncio.sleep(0)

    client = Client()
    client.send_gate = asyncio.Event()
    serving = asyncio.create_task(serve(frames(), client))
    await asyncio.sleep(0.05)
    assert produced <= 4  # stopped once more than 100 bytes waited
    client.send_gate.set()
    await asyncio.wait_for(serving, 5)
    assert produced == 100
    assert b"".join(client.bodies) == b"x" * 4000
