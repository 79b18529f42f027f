"""Server-sent events: one incremental decoder and one encoder shared by every provider.

Framing per the WHATWG EventSource spec: lines end in LF, CR or CRLF; `data:` lines of one event
are joined by LF; a blank line dispatches; lines starting with `:` are comments (keep-alives).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get complete events back."""

    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes | str) -> Iterator[Event]:
        text = chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            event = self._line(line)
            if event is not None:
                yield event

    def flush(self) -> Iterator[Event]:
        """End of stream: an event without its final blank line still counts."""
        if self._buffer:
            event = self._line(self._buffer)
            self._buffer = ""
            if event is not None:
                yield event
        if self._data:
            yield self._dispatch()

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch() if self._data or self._event else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        return None

    def _dispatch(self) -> Event:
        event = Event(data="\n".join(self._data), event=self._event, id=self._id)
        self._data, self._event = [], None
        return event


async def events(chunks: AsyncIterable[bytes]) -> AsyncIterator[Event]:
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def encode(payload: Any, event: str | None = None) -> bytes:
    """One event: `data: <compact json>` (with an `event:` line when named), blank line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {_dumps(payload)}\n\n".encode()


def comment(text: str = "ping") -> bytes:
    """A keep-alive every client's parser ignores (never `data: : ping`)."""
    return f": {text}\n\n".encode()
