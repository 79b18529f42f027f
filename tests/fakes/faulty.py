"""A fake upstream that fails the way real ones do, below HTTP where it must: it resets
connections, stalls, sends garbage, or starts a stream in a provider's wire format and then
fails. It is a raw TCP server (an HTTP framework would not misbehave on request), scripted
through a FIFO of faults, one per request; with an empty script it stalls.

    fake = FaultyUpstream()
    with fake.serve() as base_url:
        fake.script("reset", "ok")

`kind` picks the wire format of the output it sends before failing mid-stream, and of the
answer `ok` sends: `openai` (also OpenRouter), `anthropic` or `gemini`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

FAULTS = (
    "reset",  # the connection is reset before any answer
    "reset_mid_stream",  # a stream starts, sends output, then the connection is reset
    "stall",  # the request is read and never answered
    "stall_after_output",  # a stream sends output, then nothing
    "slow_first_token",  # a stream starts and keeps the connection alive, with no output
    "malformed_sse",  # a stream whose event is not JSON
    "garbage_json",  # a 200 whose body is not JSON
    "huge_body",  # a 200 whose body is larger than the gateway reads
    "rate_limited",  # 429 with retry-after: 1
    "overloaded",  # 529 (Anthropic's overloaded) / 503
    "bad_request",  # 400: the request itself is wrong
    "ok",  # a proper answer, streamed or not as asked
    "slow_ok",  # the same, half a second later
)

OPENAI_TEXT = {
    "id": "chatcmpl-fault",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}
    ],
}


def _sse(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def first_output(kind: str) -> bytes:
    """The events that start a stream and carry its first output, in the kind's format."""
    if kind == "anthropic":
        start = {
            "type": "message_start",
            "message": {
                "id": "msg_fault",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": 7, "output_tokens": 1},
            },
        }
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Hel"},
        }
        return (
            _sse(start, "message_start")
            + _sse(block, "content_block_start")
            + _sse(delta, "content_block_delta")
        )
    if kind == "gemini":
        return _sse(
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}]}
        )
    return _sse(OPENAI_TEXT)


def whole_answer(kind: str) -> bytes:
    if kind == "anthropic":
        answer: dict[str, object] = {
            "id": "msg_ok",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [{"type": "text", "text": "fine"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 1},
        }
    elif kind == "gemini":
        answer = {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "fine"}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1},
        }
    else:
        answer = {
            "id": "chatcmpl-ok",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "fine"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
    return json.dumps(answer).encode()


def stream_end(kind: str) -> bytes:
    if kind == "anthropic":
        return (
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            + _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 2},
                },
                "message_delta",
            )
            + _sse({"type": "message_stop"}, "message_stop")
        )
    if kind == "gemini":
        return _sse(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "lo"}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2},
            }
        )
    done = {
        **OPENAI_TEXT,
        "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}],
    }
    return _sse(done) + b"data: [DONE]\n\n"


class FaultyUpstream:
    def __init__(self, kind: str = "openai", huge_bytes: int = 4 << 20) -> None:
        self.kind = kind
        self.huge_bytes = huge_bytes
        self.base_url: str | None = None
        self.requests: list[bytes] = []  # each request's head and body, as received
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def script(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        assert not unknown, unknown
        with self._lock:
            self._script.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def _next(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else "stall"

    @contextmanager
    def serve(self) -> Iterator[str]:
        ready = threading.Event()
        stop: list[asyncio.Event] = []

        async def main() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            self.base_url = f"http://127.0.0.1:{port}"
            stop.append(asyncio.Event())
            self._loop = asyncio.get_running_loop()
            ready.set()
            async with server:
                await stop[0].wait()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        ready.wait(5)
        try:
            yield str(self.base_url)
        finally:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(stop[0].set)
            thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()
            return
        with self._lock:
            self.requests.append(request)
        streamed = (
            b'"stream": true' in request or b'"stream":true' in request or b"alt=sse" in request
        )
        try:
            await self._answer(self._next(), streamed, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _answer(self, fault: str, streamed: bool, writer: asyncio.StreamWriter) -> None:
        sse = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        if fault == "reset":
            _reset(writer)
        elif fault in ("reset_mid_stream", "stall_after_output"):
            writer.write(sse + first_output(self.kind))
            await writer.drain()
            await asyncio.sleep(0.05)
            if fault == "reset_mid_stream":
                _reset(writer)
            else:
                await asyncio.sleep(3600)
        elif fault == "stall":
            await asyncio.sleep(3600)
        elif fault == "slow_first_token":
            writer.write(sse)
            while True:  # comments keep the connection busy; none is output
                writer.write(b": keep-alive\n\n")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif fault == "malformed_sse":
            writer.write(sse + b"data: {this is not json\n\n")
        elif fault == "garbage_json":
            writer.write(_response(200, b"<html>upstream proxy error</html>{{{"))
        elif fault == "huge_body":
            writer.write(_response(200, b'{"pad": "' + b"x" * self.huge_bytes + b'"}'))
        elif fault == "rate_limited":
            body = b'{"error": {"message": "Slow down.", "type": "rate_limit_error"}}'
            writer.write(_response(429, body, b"retry-after: 1\r\n"))
        elif fault == "overloaded":
            body = b'{"error": {"message": "Overloaded.", "type": "overloaded_error"}}'
            writer.write(_response(529 if self.kind == "anthropic" else 503, body))
        elif fault == "bad_request":
            body = b'{"error": {"message": "temperature is too high.", "type": "bad_request"}}'
            writer.write(_response(400, body))
        elif fault == "slow_ok":
            await asyncio.sleep(0.5)
            await self._answer("ok", streamed, writer)
            return
        elif streamed:
            writer.write(sse + first_output(self.kind) + stream_end(self.kind))
        else:
            writer.write(_response(200, whole_answer(self.kind)))
        await writer.drain()


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + (await reader.readexactly(length) if length else b"")


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
