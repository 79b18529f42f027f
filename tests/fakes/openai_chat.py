"""OpenAI's ``POST /v1/chat/completions`` answers, for the fake OpenAI upstream.

Shapes per ``CreateChatCompletionResponse`` and ``CreateChatCompletionStreamResponse`` in the
official schemas: a scripted :class:`Reply` (or, unscripted, an echo of the last user message, or
a call of the first tool when ``tools`` are sent) resolved against the request into a
:class:`ChatPlan`, which renders the non-stream body or the stream chunks in OpenAI's order.
Token counts default to whitespace-separated words.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .openai_errors import PARSE_ERROR, openai_error

JSON = dict[str, Any]
ToolCallSpec = tuple[str, str | Mapping[str, Any]]
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Reply:
    """A canned successful chat completion; ``None`` fields are filled from the request."""

    text: str | None = None
    tool_calls: Sequence[ToolCallSpec] | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None
    chunks: Sequence[str] | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    hang_after: int | None = None
    error_after: int | None = None
    error: JSON | None = None
    headers: Mapping[str, str] | None = None


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class ChatPlan:
    """A fully resolved reply, rendered as OpenAI's non-stream body or stream chunks."""

    id: str
    created: int
    model: str
    text: str | None
    pieces: list[str]
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: JSON
    service_tier: str
    system_fingerprint: str
    obfuscation: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def completion(self) -> JSON:
        """``CreateChatCompletionResponse`` (``object: chat.completion``)."""
        message: JSON = {
            "role": "assistant",
            "content": self.text,
            "refusal": None,
            "annotations": [],
        }
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
        }

    def chunks(self, include_usage: bool) -> list[JSON]:
        """``CreateChatCompletionStreamResponse`` chunks, in OpenAI's order."""
        deltas: list[JSON] = []
        if self.text is not None or not self.tool_calls:
            deltas.append({"role": "assistant", "content": "", "refusal": None})
            deltas.extend({"content": piece} for piece in self.pieces)
        for index, call in enumerate(self.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if deltas:
                deltas.append({"tool_calls": [head]})
            else:  # OpenAI puts the role on the first tool-call delta when there is no text
                deltas.append(
                    {"role": "assistant", "content": None, "tool_calls": [head], "refusal": None}
                )
            deltas.extend(
                {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                for fragment in _split_arguments(call.arguments)
            )
        chunks = [self._chunk(include_usage, [_choice(d, None)]) for d in deltas]
        chunks.append(self._chunk(include_usage, [_choice({}, self.finish_reason)]))
        if include_usage:
            chunks.append(self._chunk(include_usage, [], usage=self.usage))
        return chunks

    def _chunk(self, include_usage: bool, choices: list[JSON], usage: JSON | None = None) -> JSON:
        chunk: JSON = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
            "choices": choices,
        }
        if include_usage:  # only then does OpenAI send the key at all (null until the last chunk)
            chunk["usage"] = usage
        if self.obfuscation:  # OpenAI pads chunks unless stream_options.include_obfuscation=false
            chunk["obfuscation"] = _random_id("", 1 + secrets.randbelow(16))
        return chunk


def request_error(body: Any) -> JSON | None:
    """The body of the 400 OpenAI sends for this chat request, or None."""
    if not isinstance(body, dict):
        return PARSE_ERROR
    if not body.get("model"):
        return openai_error("you must provide a model parameter")
    if not isinstance(body.get("messages"), list):
        return openai_error(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    return None


def plan(
    body: JSON,
    reply: Reply,
    *,
    service_tier: str,
    system_fingerprint: str,
    obfuscation: bool,
    headers: dict[str, str],
) -> ChatPlan:
    """Resolve a (possibly empty) :class:`Reply` against the request."""
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    text, specs = reply.text, list(reply.tool_calls or [])
    if text is None and not specs:
        text, specs = _default_answer(body, messages)
    tool_calls = [
        ToolCall(_random_id("call_", 24), name, args if isinstance(args, str) else json.dumps(args))
        for name, args in specs
    ]
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = sum(_words(m.get("content")) for m in messages)
    completion = reply.completion_tokens
    if completion is None:
        completion = _words(text) + sum(len(f"{c.name} {c.arguments}".split()) for c in tool_calls)
    finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
    return ChatPlan(
        id=_random_id("chatcmpl-", 29),
        created=int(time.time()),
        model=reply.model or str(body["model"]),
        text=text,
        pieces=list(reply.chunks) if reply.chunks is not None else _split_text(text or ""),
        tool_calls=tool_calls,
        finish_reason=finish,
        usage=_usage(prompt, completion, reply.cached_tokens, reply.reasoning_tokens),
        service_tier=service_tier,
        system_fingerprint=system_fingerprint,
        obfuscation=obfuscation,
        extra=headers,
    )


def _default_answer(body: JSON, messages: list[JSON]) -> tuple[str | None, list[ToolCallSpec]]:
    """Unscripted: call the chosen/first tool (unless answering a tool result), else echo."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "function" in t]
    choice = body.get("tool_choice")
    last_role = messages[-1].get("role") if messages else None
    if tools and choice != "none" and last_role != "tool":
        name = tools[0]["function"].get("name", "tool")
        if isinstance(choice, dict):
            name = choice.get("function", {}).get("name", name)
        return None, [(name, "{}")]
    users = [m for m in messages if m.get("role") == "user"]
    return (_text_of(users[-1].get("content")) if users else "Hello!"), []


def _choice(delta: JSON, finish_reason: str | None) -> JSON:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _split_text(text: str) -> list[str]:
    """Split into token-like pieces that keep their leading space (``"Hello", " there"``)."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces


def _split_arguments(arguments: str, parts: int = 3) -> list[str]:
    """Split a tool call's JSON arguments into (up to) ``parts`` consecutive fragments."""
    size = max(1, -(-len(arguments) // parts))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _words(value: Any) -> int:
    """Count whitespace words in a message ``content`` (a string or a list of text parts)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(part.get("text")) for part in value if isinstance(part, dict))
    return 0


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _usage(prompt: int, completion: int, cached: int, reasoning: int) -> JSON:
    """``CompletionUsage`` with the detail objects OpenAI always sends."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
