"""Server-sent events: one incremental decoder and one encoder shared by every provider.

Framing per the WHATWG EventSource spec: lines end in LF, CR or CRLF; `data:` lines of one event
are joined by LF; a blank line dispatches; lines starting with `:` are comments (keep-alives).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Event:
    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get complete events back."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes | str) -> Iterator[Event]:
        # Incremental decoding keeps a character split between two chunks intact, and a
        # trailing CR waits for the next chunk in case it is the first half of a CRLF.
        text = self._text.decode(chunk) if isinstance(chunk, bytes) else chunk
        self._buffer += text
        complete, held = (
            (self._buffer[:-1], "\r") if self._buffer.endswith("\r") else (self._buffer, "")
        )
        *lines, rest = _LINE_END.split(complete)
        self._buffer = rest + held
        for line in lines:
            event = self._line(line)
            if event is not None:
                yield event

    def flush(self) -> Iterator[Event]:
        """End of stream: an event without its final blank line still counts."""
        self._buffer += self._text.decode(b"", final=True)
        for line in _LINE_END.split(self._buffer):
            event = self._line(line) if line else None
            if event is not None:
                yield event
        self._buffer = ""
        if self._data:
            yield self._dispatch()

    def _line(self, line: str) -> Event | None:
        if not line:
            if self._data:
                return self._dispatch()
            self._event = None  # an event with no data is not dispatched (WHATWG)
            return None
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


def encode(payload: Any, event: str | None = None) -> bytes:
    """One event: `data: <compact json>` (with an `event:` line when named), blank line.
    orjson: the relay encodes every chunk, and it is several times faster than json here."""
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + _dumps(payload) + b"\n\n"


def _dumps(payload: Any) -> bytes:
    try:
        return orjson.dumps(payload)
    except TypeError:  # what orjson refuses (integers past 64 bits), json still writes
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def comment(text: str = "ping") -> bytes:
    """A keep-alive every client's parser ignores (never `data: : ping`)."""
    return f": {text}\n\n".encode()
