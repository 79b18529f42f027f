"""A fake Anthropic upstream that speaks the Messages API wire format, for tests.

Serves ``POST /v1/messages`` as Anthropic documents it:
``x-api-key`` (or ``Authorization: Bearer``) auth, a required ``anthropic-version`` header,
``request-id`` and ``anthropic-ratelimit-*`` response headers, Anthropic's error envelope
``{"type":"error","error":{"type","message"},"request_id"}``, and SSE streams where every event
has an ``event:`` line and a ``data:`` line whose ``type`` repeats the event name, ending with
``message_stop`` (no ``[DONE]``).

Tests script it through a FIFO queue, one outcome per request::

    fake = FakeAnthropicUpstream(api_key="sk-ant-test")
    with fake.serve() as base_url:                     # "http://127.0.0.1:<port>"
        fake.reply("Hello", input_tokens=12, cache_read=100)
        fake.reply(tool_uses=[("get_weather", {"city": "Paris"})])
        fake.fail(529)                                 # overloaded_error
        fake.reply("one two three", error_after=2)     # `event: error` mid-stream
        client = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test")

With an empty queue it echoes the last user text, or calls the forced/first tool (with input
``{}``) when tools are offered and the last turn is not a tool result.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from .scripted import ScriptedFake
from .server import answer_lifespan, lower_headers, read_body

JSON = dict[str, Any]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def error_body(kind: str, message: str | None = None) -> JSON:
    return {
        "type": "error",
        "error": {"type": kind, "message": message or ERROR_MESSAGES.get(kind, kind)},
        "request_id": f"req_{secrets.token_hex(12)}",
    }


@dataclass(frozen=True)
class Reply:
    """A canned message; ``None`` fields are filled from the request."""

    text: str | None = None
    tool_uses: Sequence[tuple[str, Mapping[str, Any]]] = ()
    thinking: str | None = None
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read: int = 0
    cache_creation: int = 0
    error_after: int | None = None  # events sent before an `event: error`
    error_type: str = "overloaded_error"


@dataclass(frozen=True)
class Failure:
    status: int
    kind: str | None = None
    message: str | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+\s*", text) or [text]


def _fragments(raw: str) -> list[str]:
    size = max(1, -(-len(raw) // 3))
    return [""] + [raw[i : i + size] for i in range(0, len(raw), size)]


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        total = 0
        for block in value:
            if isinstance(block, dict):
                total += _words(block.get("text")) + _words(block.get("content"))
        return total
    return 0


@dataclass
class _Plan:
    blocks: list[JSON]
    stop_reason: str
    usage: JSON
    model: str
    id: str = field(default_factory=lambda: f"msg_{secrets.token_hex(12)}")

    def message(self) -> JSON:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks,
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": self.usage,
        }

    def events(self) -> list[tuple[str, JSON]]:
        start = {**self.message(), "content": [], "stop_reason": None}
        start["usage"] = {**self.usage, "output_tokens": 1}
        events: list[tuple[str, JSON]] = [("message_start", {"message": start}), ("ping", {})]
        for index, block in enumerate(self.blocks):
            kind = block["type"]
            if kind == "text":
                empty: JSON = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            elif kind == "thinking":
                empty = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            else:
                empty = {**block, "input": {}}
                raw = json.dumps(block["input"]) if block["input"] else ""
                deltas = [{"type": "input_json_delta", "partial_json": f} for f in _fragments(raw)]
            events.append(("content_block_start", {"index": index, "content_block": empty}))
            events.extend(("content_block_delta", {"index": index, "delta": d}) for d in deltas)
            events.append(("content_block_stop", {"index": index}))
        final = {"output_tokens": self.usage["output_tokens"]}
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        events.append(("message_delta", {"delta": delta, "usage": final}))
        events.append(("message_stop", {}))
        return [(name, {"type": name, **data}) for name, data in events]


class FakeAnthropicUpstream(ScriptedFake["Reply | Failure", "RecordedRequest"]):
    def __init__(self, api_key: str = "sk-ant-fake-key") -> None:
        super().__init__()
        self.api_key = api_key

    # ---- scripting and observation ---------------------------------------------------------

    def reply(self, text: str | None = None, **options: Any) -> None:
        self._push([Reply(text=text, **options)])

    def fail(
        self, status: int, kind: str | None = None, message: str | None = None, **kw: Any
    ) -> None:
        self._push([Failure(status, kind, message, kw.get("headers"))])

    # ---- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        headers = lower_headers(scope)
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            await self._json(send, 404, error_body("not_found_error", "Not found"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._record(RecordedRequest(scope["path"], headers, body))
        problem = self._check(headers, body)
        if problem is not None:
            await self._json(send, problem[0], error_body(*problem[1:]))
            return
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            kind = scripted.kind or ERROR_TYPES.get(scripted.status, "api_error")
            extra = dict(scripted.headers or {})
            if scripted.status == 429:
                extra.setdefault("retry-after", "7")
            await self._json(send, scripted.status, error_body(kind, scripted.message), extra)
            return
        plan = self._plan(body, scripted)
        if body.get("stream"):
            await self._stream(send, plan, scripted)
        else:
            await self._json(send, 200, plan.message())

    def _check(self, headers: Mapping[str, str], body: Any) -> tuple[int, str, str] | None:
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return 401, "authentication_error", "invalid x-api-key"
        if "anthropic-version" not in headers:
            return 400, "invalid_request_error", "anthropic-version: header is required"
        if not isinstance(body, dict):
            return 400, "invalid_request_error", "There was an error parsing the body"
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return 400, "invalid_request_error", f"{name}: Field required"
        if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
            return 400, "invalid_request_error", "max_tokens: Input should be a positive integer"
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens", 0)
            if budget < 1024 or budget >= body["max_tokens"]:
                return (
                    400,
                    "invalid_request_error",
                    ("`max_tokens` must be greater than `thinking.budget_tokens`"),
                )
            if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
                return (
                    400,
                    "invalid_request_error",
                    ("Thinking may not be enabled when tool_choice forces tool use."),
                )
            if "temperature" in body:
                return (
                    400,
                    "invalid_request_error",
                    ("`temperature` may only be set to 1 when thinking is enabled."),
                )
        if "temperature" in body and not 0 <= body["temperature"] <= 1:
            return 400, "invalid_request_error", "temperature: range: 0..1"
        for message in body["messages"]:
            if message.get("role") not in ("user", "assistant"):
                return (
                    400,
                    "invalid_request_error",
                    (f'messages: Unexpected role "{message.get("role")}".'),
                )
        return None

    def _plan(self, body: JSON, reply: Reply) -> _Plan:
        messages = body["messages"]
        text, uses = reply.text, list(reply.tool_uses)
        if text is None and not uses:
            text, uses = self._default_answer(body, messages)
        blocks: list[JSON] = []
        if reply.thinking is not None:
            signature = secrets.token_urlsafe(24)
            blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": signature})
        if text:
            blocks.append({"type": "text", "text": text})
        for name, value in uses:
            tool_id = f"toolu_{secrets.token_hex(12)}"
            blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": dict(value)})
        stop = reply.stop_reason or ("tool_use" if uses else "end_turn")
        system = body.get("system")
        prompt = reply.input_tokens
        if prompt is None:
            prompt = sum(_words(m.get("content")) for m in messages) + _words(system)
        output = reply.output_tokens
        if output is None:
            output = _words(text or "") + sum(len(json.dumps(v).split()) + 1 for _, v in uses)
        usage = {
            "input_tokens": prompt,
            "cache_creation_input_tokens": reply.cache_creation,
            "cache_read_input_tokens": reply.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": reply.cache_creation,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": output,
            "service_tier": "standard",
        }
        return _Plan(blocks, stop, usage, str(body["model"]))

    @staticmethod
    def _default_answer(
        body: JSON, messages: list[JSON]
    ) -> tuple[str | None, list[tuple[str, Mapping[str, Any]]]]:
        tools = body.get("tools") or []
        choice = body.get("tool_choice") or {}
        last = messages[-1] if messages else {}
        content = last.get("content")
        answering = isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        )
        if tools and choice.get("type") != "none" and not answering:
            name = choice.get("name") if choice.get("type") == "tool" else tools[0]["name"]
            return None, [(str(name), {})]
        for message in reversed(messages):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                return content, []
            blocks = content if isinstance(content, list) else []
            texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
            if texts:
                return " ".join(texts), []
        return "Hello!", []

    # ---- wire ------------------------------------------------------------------------------

    @staticmethod
    def _headers(content_type: str, extra: Mapping[str, str] | None = None) -> list[Any]:
        headers = {
            "content-type": content_type,
            "request-id": f"req_{secrets.token_hex(12)}",
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z",
            **{k.lower(): v for k, v in (extra or {}).items()},
        }
        return [(k.encode(), v.encode()) for k, v in headers.items()]

    async def _json(
        self, send: Send, status: int, payload: Any, extra: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        headers = self._headers("application/json", extra)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(self, send: Send, plan: _Plan, reply: Reply) -> None:
        headers = self._headers("text/event-stream; charset=utf-8")
        headers.append((b"cache-control", b"no-cache"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for position, (name, data) in enumerate(plan.events()):
            if position == reply.error_after:
                name, data = "error", error_body(reply.error_type)
                del data["request_id"]
            frame = f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
            if name == "error":
                break
        await send({"type": "http.response.body", "body": b"", "more_body": False})
