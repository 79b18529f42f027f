"""A fake OpenRouter that speaks OpenRouter's wire format, for tests.

Serves ``POST /api/v1/chat/completions`` and ``GET /api/v1/models`` (``fake.model_list``:
tests/fakes/model_lists.py, the checked-in sample by default) on 127.0.0.1. Differences from
OpenAI that it shows: ``gen-...`` ids, a ``provider`` field on responses and chunks,
``native_finish_reason``, ``delta.reasoning`` / ``message.reasoning`` text, usage (with
``cost``, ``is_byok`` and ``cache_write_tokens``) always in the last data chunk before
``[DONE]``, ``: OPENROUTER PROCESSING`` SSE comments, a mid-stream error as a data chunk with a
top-level ``error`` and ``finish_reason: "error"``, and errors ``{"error": {"code": <status>,
"message", "metadata"}}``.

Tests script it with a FIFO queue, one outcome per chat completion::

    fake = FakeOpenRouter(api_key="sk-or-v1-test")
    with fake.serve() as base_url:                  # "http://127.0.0.1:<port>/api/v1"
        fake.reply("Hello there", reasoning="Let me think", keepalives_before=2)
        fake.fail(402)                              # OpenRouter's "Insufficient credits" body
        fake.fail(429, retry_after=2)
        ...
        assert fake.requests[-1].body["model"] == "openai/gpt-4o"

With an empty queue it echoes the last user message. Token counts default to whitespace words.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .model_lists import ModelList
from .server import serve_asgi

__all__ = ["KEEPALIVE", "Failure", "FakeOpenRouter", "RecordedRequest", "Reply", "error_body"]

JSON = dict[str, Any]
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"

_DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Input was flagged by moderation",
    408: "Request timed out",
    429: "Rate limit exceeded: free-models-per-min",
    502: "Provider returned error",
    503: "No endpoints found that can handle the requested parameters.",
}


def error_body(status: int, message: str | None = None, metadata: JSON | None = None) -> JSON:
    """OpenRouter's error envelope; ``code`` is the HTTP status as a number."""
    error: JSON = {"code": status, "message": message or _DEFAULT_MESSAGES.get(status, "Error")}
    if metadata is None and status in (402, 502):
        metadata = {"provider_name": "OpenAI", "raw": "upstream said no"}
    if metadata is None and status == 403:
        metadata = {
            "reasons": ["violence"],
            "flagged_input": "...",
            "provider_name": "OpenAI",
            "model_slug": "openai/gpt-4o",
        }
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error}


@dataclass(frozen=True)
class Reply:
    """A canned successful completion; ``None`` fields are filled in from the request.

    ``keepalives_before`` comments precede the first chunk, ``keepalives_between`` follow every
    data chunk. ``error_after`` sends a mid-stream error chunk after that many content pieces
    (then the stream ends without ``[DONE]``). ``usage_on_finish`` puts usage on the chunk with
    the finish reason instead of a separate ``choices: []`` chunk.
    """

    text: str | None = None
    reasoning: str | None = None
    tool_calls: Sequence[tuple[str, str]] | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.00042
    is_byok: bool = False
    provider: str = "OpenAI"
    model: str | None = None
    keepalives_before: int = 0
    keepalives_between: int = 0
    chunk_delay: float = 0.0
    error_after: int | None = None
    error: JSON | None = None
    usage_on_finish: bool = False
    images: Sequence[str] = ()  # image output (`modalities`): `data:` URLs in `message.images`


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON | str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; ``headers`` keys are lower-case, ``body`` is parsed JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _words(content: Any) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        return sum(_words(p.get("text")) for p in content if isinstance(p, dict))
    return 0


def _pieces(text: str) -> list[str]:
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    return pieces + [rest] if rest else pieces


def _fragments(arguments: str, parts: int = 3) -> list[str]:
    size = max(1, -(-len(arguments) // parts))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


class FakeOpenRouter:
    def __init__(self, api_key: str = "sk-or-v1-fake-key") -> None:
        self.api_key = api_key
        self.base_url = ""  # http://127.0.0.1:<port>/api/v1 while serving
        self._lock = threading.Lock()
        self._queue: deque[Reply | Failure] = deque()
        self._requests: list[RecordedRequest] = []
        self.model_list = ModelList.openrouter_sample()  # GET /api/v1/models
        self.app = Starlette(
            routes=[
                Route("/api/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/api/v1/models", self.model_list.answer),
            ]
        )

    # -- scripting ------------------------------------------------------------------------

    def reply(self, text: str | None = None, **options: Any) -> Reply:
        reply = Reply(text=text, **options)
        with self._lock:
            self._queue.append(reply)
        return reply

    def fail(
        self,
        status: int,
        message: str | None = None,
        *,
        metadata: JSON | None = None,
        retry_after: int | None = None,
        body: JSON | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Failure:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        failure = Failure(
            status, body if body is not None else error_body(status, message, metadata), extra
        )
        with self._lock:
            self._queue.append(failure)
        return failure

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.model_list.reset()

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serve_asgi(self.app) as url:
            self.base_url = f"{url}/api/v1"
            try:
                yield self.base_url
            finally:
                self.base_url = ""

    # -- HTTP -----------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                )
            )
            outcome = self._queue.popleft() if self._queue else None
        auth = request.headers.get("authorization")
        if auth != f"Bearer {self.api_key}":
            message = "No auth credentials found" if not auth else "User not found."
            return JSONResponse(error_body(401, message), 401)
        if not isinstance(body, dict) or not body.get("model") and not body.get("models"):
            return JSONResponse(error_body(400, "No models provided"), 400)
        if isinstance(outcome, Failure):
            if isinstance(outcome.body, str):
                return Response(outcome.body, outcome.status, dict(outcome.headers))
            return JSONResponse(outcome.body, outcome.status, dict(outcome.headers))
        reply = outcome or self._echo(body)
        plan = _Plan.of(reply, body)
        headers = {"X-Generation-Id": plan.id}
        if body.get("stream"):
            return StreamingResponse(
                plan.stream(reply), media_type="text/event-stream", headers=headers
            )
        return JSONResponse(plan.completion(), headers=headers)

    @staticmethod
    def _echo(body: JSON) -> Reply:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        content = users[-1].get("content") if users else ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        return Reply(text=content or "")


@dataclass
class _Plan:
    id: str
    created: int
    model: str
    provider: str
    text: str | None
    reasoning: str | None
    calls: list[tuple[str, str, str]]  # id, name, arguments
    finish_reason: str
    native_finish_reason: str
    usage: JSON
    images: Sequence[str] = ()

    @classmethod
    def of(cls, reply: Reply, body: JSON) -> _Plan:
        calls = [(f"call_{secrets.token_hex(12)}", n, a) for n, a in reply.tool_calls or []]
        text = reply.text if reply.text is not None or calls else ""
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = sum(_words(m.get("content")) for m in body.get("messages") or [])
        completion = reply.completion_tokens
        if completion is None:
            completion = _words(text) + _words(reply.reasoning) + sum(len(c[2]) // 4 for c in calls)
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        native = reply.native_finish_reason or {"stop": "stop", "tool_calls": "tool_calls"}.get(
            finish, finish
        )
        model = reply.model or body.get("model") or (body.get("models") or ["openrouter/auto"])[0]
        return cls(
            id=f"gen-{int(time.time())}-{secrets.token_urlsafe(15)}",
            created=int(time.time()),
            model=model,
            provider=reply.provider,
            text=text,
            reasoning=reply.reasoning,
            calls=calls,
            finish_reason=finish,
            native_finish_reason=native,
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "cost": reply.cost,
                "is_byok": reply.is_byok,
                "prompt_tokens_details": {
                    "cached_tokens": reply.cached_tokens,
                    "cache_write_tokens": reply.cache_write_tokens,
                    "audio_tokens": 0,
                },
                "cost_details": {"upstream_inference_cost": None},
                "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
            },
            images=reply.images,
        )

    def completion(self) -> JSON:
        message: JSON = {"role": "assistant", "content": self.text, "refusal": None}
        message["reasoning"] = self.reasoning
        if self.reasoning:
            message["reasoning_details"] = [
                {"type": "reasoning.text", "text": self.reasoning, "format": "unknown", "index": 0}
            ]
        if self.images:
            message["images"] = [
                {"type": "image_url", "image_url": {"url": url}, "index": i}
                for i, url in enumerate(self.images)
            ]
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": i,
                    "index": n,
                    "type": "function",
                    "function": {"name": name, "arguments": a},
                }
                for n, (i, name, a) in enumerate(self.calls)
            ]
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "object": "chat.completion",
            "created": self.created,
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                    "native_finish_reason": self.native_finish_reason,
                    "message": message,
                }
            ],
            "system_fingerprint": None,
            "usage": self.usage,
        }

    def _chunk(self, delta: JSON | None, finish: str | None = None, **extra: Any) -> JSON:
        chunk: JSON = {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "object": "chat.completion.chunk",
            "created": self.created,
            "choices": []
            if delta is None
            else [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish,
                    "native_finish_reason": self.native_finish_reason if finish else None,
                    "logprobs": None,
                }
            ],
        }
        chunk.update(extra)
        return chunk

    def deltas(self) -> list[JSON]:
        deltas: list[JSON] = []
        for piece in _pieces(self.reasoning or ""):
            deltas.append(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning": piece,
                    "reasoning_details": [
                        {"type": "reasoning.text", "text": piece, "format": "unknown", "index": 0}
                    ],
                }
            )
        deltas.extend({"role": "assistant", "content": p} for p in _pieces(self.text or ""))
        for index, (call_id, name, arguments) in enumerate(self.calls):
            head = {"index": index, "id": call_id, "type": "function"}
            deltas.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{**head, "function": {"name": name, "arguments": ""}}],
                }
            )
            for fragment in _fragments(arguments):
                call = {"index": index, "function": {"arguments": fragment}}
                deltas.append({"role": "assistant", "content": None, "tool_calls": [call]})
        return deltas

    async def stream(self, reply: Reply) -> AsyncIterator[bytes]:
        def data(payload: JSON) -> bytes:
            return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

        async def pause() -> None:
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)

        for _ in range(reply.keepalives_before):
            yield KEEPALIVE
            await pause()
        between = KEEPALIVE * reply.keepalives_between
        for sent, delta in enumerate(self.deltas()):
            if reply.error_after is not None and sent == reply.error_after:
                error = reply.error or {"code": "server_error", "message": "Provider disconnected"}
                chunk = self._chunk({"content": ""}, "error", error=error)
                chunk["choices"][0]["native_finish_reason"] = "error"
                yield data(chunk)
                return
            yield data(self._chunk(delta))
            if between:
                yield between
            await pause()
        finish = {"role": "assistant", "content": ""}
        if reply.usage_on_finish:
            yield data(self._chunk(finish, self.finish_reason, usage=self.usage))
        else:
            yield data(self._chunk(finish, self.finish_reason))
            if between:
                yield between
            yield data(self._chunk(None, usage=self.usage))
        yield b"data: [DONE]\n\n"
