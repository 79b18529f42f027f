"""Server-sent events: one incremental decoder and one encoder shared by every provider.

Framing per the WHATWG EventSource spec: lines end in LF, CR or CRLF; `data:` lines of one event
are joined by LF; a blank line dispatches; lines starting with `:` are comments (keep-alives).

One departure: a bare JSON value outside the framing (lines from one starting with `{` or `[`
to a blank line, a field or the end) is dispatched as one event's data instead of being
ignored. Gemini ends a failing 200 stream so, with a pretty-printed `{"error": ...}`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from domain.errors import UpstreamError

DONE = b"data: [DONE]\n\n"
_LINE_END = re.compile(r"\r\n|\r|\n")
_FIELDS = ("data", "event", "id", "retry")
# Far above any real event (a streamed image is a few MB of base64), low enough to bound memory.
MAX_EVENT_CHARS = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Event:
    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get complete events back. An event longer than
    `max_event_chars` (its lines without their line ends) is the upstream's error, raised as
    soon as it grows past the limit: a stream that never ends a line cannot fill the memory."""

    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max = max_event_chars
        self._partial: list[str] = []  # the line not ended yet, in the pieces it came in
        self._partial_chars = 0
        self._held_cr = False
        self._event_chars = 0  # the lines of the event being read, so far
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._bare: list[str] = []  # lines of a bare JSON value, while one is being read

    def feed(self, chunk: bytes | str) -> Iterator[Event]:
        """The events `chunk` completes. Most upstream reads are whole `data:` events and
        nothing else: those are split on bytes at once, without the line-by-line reader (a
        third of a stream's CPU in the gateway); the reader takes everything else."""
        if isinstance(chunk, bytes) and self._between_events():
            whole = self._whole_data_events(chunk)
            if whole is not None:
                return iter(whole)
        return self._read(chunk)

    def _between_events(self) -> bool:
        """Nothing of an unfinished line, event or character is held."""
        return not (
            self._partial_chars
            or self._held_cr
            or self._data
            or self._bare
            or self._event is not None
            or self._event_chars
            or self._text.getstate()[0]
        )

    def _whole_data_events(self, chunk: bytes) -> list[Event] | None:
        """The events of a chunk made only of `data: <one line>` events each ended by a blank
        line (LF only); None for anything else."""
        if not chunk.endswith(b"\n\n") or b"\r" in chunk:
            return None
        events = []
        for block in chunk[:-2].split(b"\n\n"):
            if not block.startswith(b"data:") or b"\n" in block or len(block) > self._max:
                return None
            value = block[6:] if block[5:6] == b" " else block[5:]
            events.append(Event(value.decode("utf-8", "replace"), None, self._id))
        return events

    def _read(self, chunk: bytes | str) -> Iterator[Event]:
        # Incremental decoding keeps a character split between two chunks intact, and a
        # trailing CR waits for the next chunk in case it is the first half of a CRLF. Only
        # the new text is split: rescanning what was buffered made a long line quadratic.
        text = self._text.decode(chunk) if isinstance(chunk, bytes) else chunk
        if self._held_cr:
            text = "\r" + text
        self._held_cr = text.endswith("\r")
        *lines, rest = _LINE_END.split(text[:-1] if self._held_cr else text)
        if lines:
            lines[0] = "".join(self._partial) + lines[0]
            self._partial, self._partial_chars = [], 0
        self._partial.append(rest)
        self._partial_chars += len(rest)
        for line in lines:
            event = self._counted(line)
            if event is not None:
                yield event
        self._check(self._event_chars + self._partial_chars)

    def flush(self) -> Iterator[Event]:
        """End of stream: an event without its final blank line still counts."""
        held = "\r" if self._held_cr else ""
        text = "".join(self._partial) + held + self._text.decode(b"", final=True)
        self._partial, self._partial_chars, self._held_cr = [], 0, False
        for line in _LINE_END.split(text):
            event = self._counted(line) if line else None
            if event is not None:
                yield event
        if self._bare:
            yield self._dispatch_bare()
        if self._data:
            yield self._dispatch()

    def _counted(self, line: str) -> Event | None:
        self._event_chars = self._event_chars + len(line) if line else 0
        self._check(self._event_chars)
        return self._line(line)

    def _check(self, chars: int) -> None:
        if chars > self._max:
            raise UpstreamError(
                f"The upstream sent a stream event larger than {self._max} characters."
            )

    def _line(self, line: str) -> Event | None:
        if self._bare:
            if line and not line.startswith(":") and line.partition(":")[0] not in _FIELDS:
                self._bare.append(line)
                return None
            # What ends a bare value (a blank line, a comment, a field) dispatches nothing
            # itself: no `data:` line came since the value began.
            bare = self._dispatch_bare()
            self._line(line)
            return bare
        if line.startswith(("{", "[")) and not self._data:
            self._bare.append(line)
            return None
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

    def _dispatch_bare(self) -> Event:
        event = Event(data="\n".join(self._bare))
        self._bare = []
        return event

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
    orjson: every chunk streamed is encoded here, and it is several times faster than json here."""
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
