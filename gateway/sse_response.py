"""An SSE response that writes every frame ready at the same moment in one send, and stops its
frames (which cancels the upstream call) as soon as the client leaves.

Starlette's StreamingResponse sends each frame on its own and, under uvicorn's ASGI 2.3, wraps
every stream in an anyio task group to notice a disconnect. Here one task produces frames and
the response's own task sends them: when an upstream delivers several events in one read (a
fast model, or a gateway busy with other streams), they leave as one write instead of one per
event, and no frame ever waits for a later one. The producer stops reading ahead once
`MAX_BUFFERED` bytes wait for a slow client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

MAX_BUFFERED = 1 << 18


class SSEResponse(Response):
    media_type = "text/event-stream; charset=utf-8"

    def __init__(self, frames: AsyncIterator[bytes], headers: Mapping[str, str] | None = None):
        self.frames = frames
        self.status_code = 200
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        relay = _Relay(self.frames)
        producer = asyncio.create_task(relay.produce())
        listener = asyncio.create_task(relay.watch_client(receive, producer))
        try:
            while not (producer.done() and not relay.pending):
                await relay.ready.wait()
                relay.ready.clear()
                if relay.client_left:
                    return
                if relay.pending:
                    await send(
                        {"type": "http.response.body", "body": relay.take(), "more_body": True}
                    )
            producer.result()  # a failure inside the frames is the server's error, not silence
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            listener.cancel()
            if not producer.done() and not producer.cancelling():
                producer.cancel()
            # A producer stopped because the client left is still settling its request:
            # cancelling it again would cut that short.
            await asyncio.gather(producer, listener, return_exceptions=True)


class _Relay:
    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        self.frames = frames
        self.pending: list[bytes] = []
        self.buffered = 0
        self.ready = asyncio.Event()
        self.drained = asyncio.Event()
        self.client_left = False

    async def produce(self) -> None:
        try:
            async for frame in self.frames:
                self.pending.append(frame)
                self.buffered += len(frame)
                self.ready.set()
                if self.buffered > MAX_BUFFERED:
                    self.drained.clear()
                    await self.drained.wait()
        finally:
            self.ready.set()

    def take(self) -> bytes:
        batch = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        self.buffered = 0
        self.drained.set()
        return batch

    async def watch_client(self, receive: Receive, producer: asyncio.Task[None]) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_left = True
        self.pending.clear()
        producer.cancel()
        self.ready.set()
