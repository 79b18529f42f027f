"""A minimal, fast OpenAI-compatible upstream for benchmarks.

A raw asyncio HTTP/1.1 server (uvloop + httptools when installed, the same parser uvicorn uses),
keep-alive, no framework. It answers:

    POST /v1/chat/completions   stream true  -> SSE: N content chunks, a finish chunk, a usage
                                                chunk and `data: [DONE]` (chunked encoding, one
                                                HTTP chunk and one socket write per event)
                                stream false -> one `chat.completion` JSON object
    GET  /health                -> 200 "ok"
    GET  /stats                 -> {"connections": accepted so far, "requests": answered so far}

N is the `x-bench-chunks` header, else the request's `max_completion_tokens` / `max_tokens`,
else `--chunks` (default 16). A delay between chunks (for the held-open streams test) comes from
the `x-bench-delay-ms` header, else the request body's `bench_chunk_delay_ms` field (the gateway
forwards unknown body fields, but not client headers), else `--delay-ms` (default 0).

A paced stream can also wait at a barrier after its first chunk: the body field
`bench_barrier: {"name": "hold", "parties": 1000, "timeout_s": 90}` holds every stream of that
name until `parties` of them are open at once (or `timeout_s` passed), so that a held-open
streams test really has all of its streams open together, however slowly they were admitted.

    python bench/fake_upstream.py --port 0     # prints "LISTENING <port>" once it accepts
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import signal
import socket
import sys
import time

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is installed with uvicorn[standard]
    uvloop = None

DEFAULT_CHUNKS = 16
MAX_CHUNKS = 4096
PROMPT_TOKENS = 9
CREATED = int(time.time())


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _chunk(obj: object) -> bytes:
    """One SSE event framed as one HTTP/1.1 chunk."""
    data = b"data: " + _dumps(obj) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _usage(n: int) -> dict:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": n,
        "total_tokens": PROMPT_TOKENS + n,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
LAST_CHUNK = b"0\r\n\r\n"


@functools.lru_cache(maxsize=64)
def stream_events(n: int, model: str) -> tuple[bytes, ...]:
    """The HTTP chunks of one streamed answer (cached: every answer of size n is the same)."""
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
    }
    events = []
    for i in range(n):
        delta = {"role": "assistant", "content": "w0 "} if i == 0 else {"content": f"w{i} "}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
        events.append(_chunk({**base, "choices": [choice], "usage": None}))
    finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    events.append(_chunk({**base, "choices": [finish], "usage": None}))
    events.append(_chunk({**base, "choices": [], "usage": _usage(n)}))
    events.append(_chunk_raw(b"data: [DONE]\n\n"))
    return tuple(events)


def _chunk_raw(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@functools.lru_cache(maxsize=64)
def completion_response(n: int, model: str) -> bytes:
    body = _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(f"w{i} " for i in range(n)),
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(n),
            "service_tier": "default",
        }
    )
    return _simple(200, body, b"application/json")


def _simple(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}.get(status, b"Error")
    return b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status,
        reason,
        content_type,
        len(body),
        body,
    )


NOT_FOUND = _simple(404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')
HEALTH = _simple(200, b"ok", b"text/plain")


class Config:
    def __init__(self, chunks: int, delay_ms: float) -> None:
        self.chunks = chunks
        self.delay_ms = delay_ms
        self.connections = 0  # accepted so far: tells whether the gateway reuses connections
        self.requests = 0
        self.barriers: dict[str, Barrier] = {}

    def barrier(self, spec: object) -> Barrier | None:
        if not isinstance(spec, dict) or not spec.get("name"):
            return None
        name = str(spec["name"])
        if name not in self.barriers:
            self.barriers[name] = Barrier(
                int(spec.get("parties") or 1), float(spec.get("timeout_s") or 60)
            )
        return self.barriers[name]


class Barrier:
    """Releases everyone once `parties` have arrived, or `timeout_s` after the first arrival."""

    def __init__(self, parties: int, timeout_s: float) -> None:
        self.parties = parties
        self.timeout_s = timeout_s
        self.arrived = 0
        self.released: str | None = None  # "full" or "timeout"
        self.event = asyncio.Event()
        self.timer: asyncio.TimerHandle | None = None

    async def wait(self) -> None:
        self.arrived += 1
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(
                self.timeout_s, self._release, "timeout"
            )
        if self.arrived >= self.parties:
            self._release("full")
        await self.event.wait()

    def _release(self, why: str) -> None:
        if not self.event.is_set():
            self.released = why
            self.event.set()
            if self.timer is not None:
                self.timer.cancel()


class Upstream(asyncio.Protocol):
    __slots__ = ("config", "transport", "parser", "url", "headers", "body", "keep_alive", "task")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.keep_alive = True
        self.task: asyncio.Task | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.config.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.write(_simple(400, b'{"error":{"message":"bad request"}}'))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None:
            self.task.cancel()
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if method == b"POST" and path.endswith(b"/chat/completions"):
            self.config.requests += 1
            self.chat()
        elif path == b"/stats":
            stats = {
                "connections": self.config.connections,
                "requests": self.config.requests,
                "barriers": {
                    name: {"arrived": b.arrived, "parties": b.parties, "released": b.released}
                    for name, b in self.config.barriers.items()
                },
            }
            self.reply(_simple(200, _dumps(stats)))
        elif path == b"/health":
            self.reply(HEALTH)
        else:
            self.reply(NOT_FOUND)

    def reply(self, data: bytes) -> None:
        if self.transport is None:
            return
        self.transport.write(data)
        if not self.keep_alive:
            self.transport.close()

    def chat(self) -> None:
        try:
            request = json.loads(b"".join(self.body) or b"{}")
        except ValueError:
            self.reply(_simple(400, b'{"error":{"message":"invalid json"}}'))
            return
        n = self._count(request)
        model = str(request.get("model") or "gpt-5-mini")[:128]
        if not request.get("stream"):
            self.reply(completion_response(n, model))
            return
        events = stream_events(n, model)
        delay = self._delay(request)
        if delay > 0:
            barrier = self.config.barrier(request.get("bench_barrier"))
            self.task = asyncio.get_running_loop().create_task(self.paced(events, delay, barrier))
            return
        write = self.transport.write
        write(STREAM_HEAD)
        for event in events:  # one write per event, like a real token stream
            write(event)
        self.reply(LAST_CHUNK)

    async def paced(self, events: tuple[bytes, ...], delay: float, barrier: Barrier | None) -> None:
        """Headers and the first chunk at once, then (after the barrier, if any) one chunk every
        `delay` seconds."""
        try:
            self.transport.write(STREAM_HEAD + events[0])
            if barrier is not None:
                await barrier.wait()
            for event in events[1:-3]:
                await asyncio.sleep(delay)
                if self.transport is None:
                    return
                self.transport.write(event)
            await asyncio.sleep(delay)
            if self.transport is None:
                return
            # finish, usage and [DONE] come together, as they do from real upstreams
            self.transport.write(b"".join(events[-3:]))
            self.reply(LAST_CHUNK)
        except asyncio.CancelledError:
            pass
        finally:
            self.task = None

    def _count(self, request: dict) -> int:
        raw = self.headers.get(b"x-bench-chunks")
        value = (
            raw
            if raw is not None
            else request.get("max_completion_tokens") or request.get("max_tokens")
        )
        try:
            n = int(value) if value is not None else self.config.chunks
        except (TypeError, ValueError):
            n = self.config.chunks
        return max(1, min(n, MAX_CHUNKS))

    def _delay(self, request: dict) -> float:
        raw = self.headers.get(b"x-bench-delay-ms")
        value = raw if raw is not None else request.get("bench_chunk_delay_ms")
        try:
            ms = float(value) if value is not None else self.config.delay_ms
        except (TypeError, ValueError):
            ms = self.config.delay_ms
        return max(0.0, ms) / 1000.0


async def serve(host: str, port: int, config: Config, backlog: int) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    server = await loop.create_server(lambda: Upstream(config), sock=sock, backlog=backlog)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--chunks", type=int, default=DEFAULT_CHUNKS, help="default content chunks")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="default delay between chunks")
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args(argv)
    config = Config(args.chunks, args.delay_ms)
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(args.host, args.port, config, args.backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
