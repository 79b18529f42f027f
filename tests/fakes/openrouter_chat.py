"""OpenRouter's ``POST /api/v1/chat/completions`` answers, for the fake OpenRouter.

A scripted :class:`Reply` (or an echo of the last user message) is resolved against the request
into a :class:`ChatPlan`, which renders the non-stream body or the SSE stream as OpenRouter sends
them: ``gen-...`` ids, a ``provider`` field, ``native_finish_reason``, ``reasoning`` text, usage
(with ``cost``, ``is_byok`` and ``cache_write_tokens``) in the last data chunk before ``[DONE]``,
``: OPENROUTER PROCESSING`` comments, and a mid-stream error as a data chunk with a top-level
``error`` and ``finish_reason: "error"``. Token counts default to whitespace words.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"


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


def echo(body: JSON) -> Reply:
    """The unscripted answer: the text of the last user message."""
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return Reply(text=content or "")


@dataclass
class ChatPlan:
    """A resolved answer, rendered as OpenRouter's non-stream body or its SSE stream."""

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
    def of(cls, reply: Reply, body: JSON) -> ChatPlan:
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
