"""web/answers.py driven as an ASGI app, with a run that stands for any endpoint's: frames
ready together leave in one write, none waits for a later one, a client leaving stops the run
(letting it finish its clean-up) and the run is settled once however it ends, a slow client
stops the frames from being read far ahead, and a failure before any output is a JSON error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from domain.charges import Ending
from domain.errors import GatewayError, UpstreamUnavailable
from domain.metering import Usage
from gateway.runs import Answer
from gateway.tickets import Claim, Receipt
from web.answers import MeteredAnswer


@dataclass
class Ticket:
    """What web/answers.py needs of a ticket: it records every settlement."""

    request_id: str = "req_test"
    stop_reason: str | None = None
    endings: list[Ending] = field(default_factory=list)
    stops: list[Callable[[], Any]] = field(default_factory=list)
    byok: bool = True  # no counters, so the receipt's headers need no caller
    receipt: Receipt | None = None
    claim: Claim = field(default_factory=lambda: Claim(prompt_tokens=1))
    attempts: list[Any] = field(default_factory=list)

    def counter(self, kind: str) -> None:
        return None

    def on_stop(self, stop: Callable[[], Any]) -> None:
        self.stops.append(stop)

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        for stop in self.stops:
            stop()

    async def settle(self, ending: Ending) -> Receipt:
        self.endings.append(ending)
        self.receipt = Receipt(0, 0, {})
        return self.receipt


@dataclass
class Run:
    frames_of: Callable[[], AsyncIterator[bytes]]
    streamed: bool = True
    fail_first: GatewayError | None = None
    ticket: Any = field(default_factory=Ticket)
    sent: int = 0

    async def complete(self) -> Answer:
        raise AssertionError("streamed")

    async def open(self) -> None:
        if self.fail_first is not None:
            raise self.fail_first

    async def frames(self) -> AsyncIterator[bytes]:
        async for frame in self.frames_of():
            self.sent += 1
            yield frame

    async def ending_frames(self, ending: Ending, error: GatewayError | None) -> list[bytes]:
        return [b"data: [DONE]\n\n"] if error is None else [b"data: error\n\n"]

    async def usage(self) -> Usage:
        return Usage(prompt_tokens=1, completion_tokens=self.sent)

    def delivered(self) -> bool:
        return self.sent > 0


class Client:
    """The ASGI server's side: records what was sent, and can disconnect."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.bodies: list[bytes] = []
        self.finished = False
        self.left = asyncio.Event()
        self.send_gate: asyncio.Event | None = None

    async def receive(self) -> dict[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        if self.send_gate is not None:
            await self.send_gate.wait()
        if message.get("more_body"):
            self.bodies.append(message["body"])
        else:
            self.bodies.append(message["body"]) if message["body"] else None
            self.finished = True


async def serve(run: Run, client: Client, **options: Any) -> None:
    await MeteredAnswer(run, **options)({"type": "http"}, client.receive, client.send)


def numbered(count: int) -> Callable[[], AsyncIterator[bytes]]:
    async def frames() -> AsyncIterator[bytes]:
        for n in range(count):
            yield b"data: %d\n\n" % n

    return frames


async def test_frames_ready_together_leave_in_one_write_and_the_end_after_settling() -> None:
    run, client = Run(numbered(5)), Client()
    await serve(run, client)
    frames = b"".join(b"data: %d\n\n" % n for n in range(5))
    assert client.bodies == [frames + b"data: [DONE]\n\n"] and client.finished
    [ending] = run.ticket.endings
    assert (ending.status, ending.http_status, ending.delivered) == ("completed", 200, True)


async def test_a_frame_is_sent_without_waiting_for_the_next() -> None:
    later = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        await later.wait()
        yield b"data: second\n\n"

    client = Client()
    serving = asyncio.create_task(serve(Run(frames), client))
    for _ in range(20):
        await asyncio.sleep(0)
    assert client.bodies == [b"data: first\n\n"]
    later.set()
    await serving
    assert client.bodies == [b"data: first\n\n", b"data: second\n\ndata: [DONE]\n\n"]


async def test_a_client_leaving_stops_the_run_lets_it_clean_up_and_settles_it_once() -> None:
    cleaned_up = asyncio.Event()
    forever = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await forever.wait()
            yield b"data: never\n\n"
        finally:
            await asyncio.sleep(0.01)  # closing the upstream call takes a moment
            cleaned_up.set()

    run, client = Run(frames), Client()
    serving = asyncio.create_task(serve(run, client))
    await asyncio.sleep(0.01)
    client.left.set()
    await asyncio.wait_for(serving, 5)
    assert cleaned_up.is_set()
    assert client.bodies == [b"data: first\n\n"] and not client.finished
    [ending] = run.ticket.endings
    assert (ending.status, ending.http_status) == ("client_disconnected", 499)


async def test_the_server_stopping_a_stream_ends_it_with_the_error_event() -> None:
    forever = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        await forever.wait()

    run, client = Run(frames), Client()
    serving = asyncio.create_task(serve(run, client))
    await asyncio.sleep(0.01)
    run.ticket.stop("shutdown")
    await asyncio.wait_for(serving, 5)
    assert client.bodies[-1] == b"data: error\n\n" and client.finished
    [ending] = run.ticket.endings
    assert (ending.status, ending.delivered) == ("shutdown", True)


async def test_a_failure_before_any_output_is_a_json_error_charged_nothing() -> None:
    refused = UpstreamUnavailable("The upstream is down.")
    run, client = Run(numbered(3), fail_first=refused), Client()
    await serve(run, client)
    assert client.status == 503
    assert b'"upstream_unavailable"' in b"".join(client.bodies)
    [ending] = run.ticket.endings
    assert (ending.status, ending.delivered) == ("upstream_error", False)


async def test_a_slow_client_stops_the_frames_being_read_far_ahead() -> None:
    produced = 0

    async def frames() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(100):
            produced += 1
            yield b"x" * 40
            await asyncio.sleep(0)

    client = Client()
    client.send_gate = asyncio.Event()
    serving = asyncio.create_task(serve(Run(frames), client, max_buffered=100))
    await asyncio.sleep(0.05)
    assert produced <= 4  # stopped once more than 100 bytes waited
    client.send_gate.set()
    await asyncio.wait_for(serving, 5)
    assert produced == 100
    assert b"".join(client.bodies).startswith(b"x" * 4000)
