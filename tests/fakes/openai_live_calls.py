"""The completions the fake OpenAI upstream is answering, chat and legacy text alike: sending an
answer whole or as a stream with a reply's timing knobs (delays, a stream held until released,
an error mid-stream), and noticing a client that leaves before the last byte.

The app runs in uvicorn's thread while pytest reads the records from another, so they are
guarded by a lock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from starlette.types import Receive

from .openai_chat import Reply
from .openai_errors import server_error
from .openai_exchange import Exchange

JSON = dict[str, Any]


class Answer(Protocol):
    """A resolved completion (chat or text) that renders itself as OpenAI sends it."""

    @property
    def extra(self) -> Mapping[str, str]: ...  # response headers

    def completion(self) -> JSON: ...

    def chunks(self, include_usage: bool) -> list[JSON]: ...


@dataclass
class CallRecord:
    """Outcome of one successful chat completion, updated live while it is being sent.

    ``completed`` means the server sent its last byte; ``disconnected`` means the client went
    away before that (OpenAI stops generating then; a gateway must propagate its client leaving).
    """

    request_id: str
    stream: bool
    chunks_sent: int = 0
    completed: bool = False
    disconnected: bool = False


class LiveCalls:
    """One :class:`CallRecord` per completion answered, and the clients that left early."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._disconnects = 0
        self._release_generation = 0
        self.disconnected = threading.Event()
        """Set the first time a client leaves a completion before it was fully sent."""

    def start(self, request_id: str, stream: bool) -> CallRecord:
        record = CallRecord(request_id, stream)
        with self._lock:
            self._calls.append(record)
        return record

    @property
    def calls(self) -> list[CallRecord]:
        with self._lock:
            return list(self._calls)

    @property
    def disconnects(self) -> int:
        with self._lock:
            return self._disconnects

    def release(self) -> None:
        """Let every stream currently held by ``hang_after`` continue to its end."""
        with self._lock:
            self._release_generation += 1

    def reset(self) -> None:
        """Forget all records (and release held streams)."""
        self.release()
        with self._lock:
            self._calls.clear()
            self._disconnects = 0
            self.disconnected.clear()

    async def wait_for_disconnect(self, timeout: float) -> bool:
        """Wait, without blocking the event loop, until a client has left mid-response."""
        deadline = time.monotonic() + timeout
        while not self.disconnected.is_set():
            if time.monotonic() >= deadline:
                return False
            await anyio.sleep(0.01)
        return True

    async def answer(
        self,
        plan: Answer,
        reply: Reply,
        options: Mapping[str, Any],
        record: CallRecord,
        exchange: Exchange,
        receive: Receive,
    ) -> None:
        """Stream the plan's chunks or send its completion, noticing a client that leaves;
        ``options`` are the request's ``stream_options``."""
        if record.stream:
            include_usage = options.get("include_usage") is True

            async def work() -> None:
                await self._stream(plan, reply, include_usage, record, exchange)
        else:

            async def work() -> None:
                await anyio.sleep(reply.delay)
                record.completed = True
                await exchange.json(200, plan.completion(), plan.extra)

        await self._watch_disconnect(receive, record, work)

    async def _stream(
        self,
        plan: Answer,
        reply: Reply,
        include_usage: bool,
        record: CallRecord,
        exchange: Exchange,
    ) -> None:
        """Send ``data: {chunk}`` events, then ``data: [DONE]``, with the reply's timing knobs."""
        await anyio.sleep(reply.delay)
        await exchange.start_stream(plan.extra)
        chunks = plan.chunks(include_usage)
        for index in range(len(chunks) + 1):
            if index == reply.hang_after:
                await self._hang()
            if index == reply.error_after:
                record.completed = True
                await exchange.event(
                    json.dumps(reply.error or server_error(), separators=(",", ":"))
                )
                await exchange.end()
                return
            if index == len(chunks):
                break
            if index and reply.chunk_delay:
                await anyio.sleep(reply.chunk_delay)
            await exchange.event(json.dumps(chunks[index], separators=(",", ":")))
            record.chunks_sent += 1
        record.completed = True
        await exchange.event("[DONE]")
        await exchange.end()

    async def _hang(self) -> None:
        with self._lock:
            generation = self._release_generation
        while True:
            with self._lock:
                if self._release_generation != generation:
                    return
            await anyio.sleep(0.01)

    async def _watch_disconnect(
        self, receive: Receive, record: CallRecord, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``work`` while listening for ``http.disconnect``; cancel it if the client leaves."""
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while True:
                    message = await receive()
                    if message["type"] != "http.disconnect":
                        continue
                    if not record.completed:
                        record.disconnected = True
                        with self._lock:
                            self._disconnects += 1
                        self.disconnected.set()
                        group.cancel_scope.cancel()
                    return

            group.start_soon(watch)
            try:
                await work()
            finally:
                group.cancel_scope.cancel()
