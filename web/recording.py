"""ASGI plumbing for answers kept and replayed: a request body read whole and handed on, a
response recorded while it passes through to the client, and a client watched while its
request waits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.types import Message, Receive, Send

Header = tuple[str, str]


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client left first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then what the client sends next (its
    disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


class Recording:
    """A response as the app sends it, passed on to the client message by message (a stream
    still flows chunk by chunk) and kept up to `max_bytes` of body. `on_end` runs when the
    last body message arrives, before the client gets it."""

    def __init__(
        self, send: Send, max_bytes: int, on_end: Callable[[Recording], Awaitable[None]]
    ) -> None:
        self._send = send
        self._max_bytes = max_bytes
        self._on_end = on_end
        self._chunks: list[bytes] = []
        self._size = 0
        self.status: int | None = None
        self.headers: list[Header] = []
        self.complete = False

    @property
    def body(self) -> bytes | None:
        """The whole body, or None if it was larger than `max_bytes`."""
        return b"".join(self._chunks) if self._size <= self._max_bytes else None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", [])
            ]
        elif message["type"] == "http.response.body":
            self._keep(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                await self._on_end(self)
        await self._send(message)

    def _keep(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self._max_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()


async def send_answer(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ClientWatch:
    """Notices the client leaving while its request waits without reading from it."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._left: asyncio.Task[None] | None = None

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`; False if the client left meanwhile (or before)."""
        if self._left is None:
            self._left = asyncio.get_running_loop().create_task(self._until_disconnect())
        done, _ = await asyncio.wait({self._left}, timeout=seconds)
        return not done

    async def stop(self) -> None:
        """Stop listening, before the app reads from the client itself."""
        if self._left is not None and not self._left.done():
            self._left.cancel()
            await asyncio.gather(self._left, return_exceptions=True)
        self._left = None

    async def _until_disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
