"""Gemini's answers as OpenAI's: a `GenerateContentResponse` -> a `chat.completion`
(`to_completion`), one streamed `GenerateContentResponse` -> `chat.completion.chunk`s
(`to_chunks`, with a `StreamState` remembering what earlier events produced), and the usage
chunk at the end of a stream (`final_chunks`). Pure functions on plain data; the requests are
translated by providers/gemini/request.py and sent by providers/gemini/client.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import UpstreamError
from providers.base import Chunk
from providers.chunks import new_call_id
from providers.gemini import signatures

JSON = dict[str, Any]


_CONTENT_FILTER = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def finish_reason(value: str | None, called_tools: bool) -> str | None:
    """OpenAI's finish reason for a Gemini `finishReason` (None: not finished yet)."""
    if not value:
        return None
    if value == "MAX_TOKENS":
        return "length"
    if value in _CONTENT_FILTER:
        return "content_filter"
    return "tool_calls" if called_tools else "stop"


def usage(metadata: Mapping[str, Any] | None) -> JSON | None:
    """OpenAI `usage` from `usageMetadata` (absent counts are 0)."""
    if not metadata:
        return None
    prompt = int(metadata.get("promptTokenCount") or 0) + int(
        metadata.get("toolUsePromptTokenCount") or 0
    )
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": int(metadata.get("cachedContentTokenCount") or 0)
        },
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def _tool_call(part: Mapping[str, Any], index: int | None = None) -> JSON:
    """An OpenAI tool call for a `functionCall` part, carrying its thought signature where
    Google's OpenAI-compatible API does, so that it comes back with the conversation."""
    call = part["functionCall"]
    tool_call: JSON = {
        "id": str(call.get("id") or new_call_id()),
        "type": "function",
        "function": {
            "name": str(call.get("name") or ""),
            "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False),
        },
    }
    extra = signatures.carried(part)
    if extra is not None:
        tool_call["extra_content"] = extra
    if index is not None:
        tool_call = {"index": index, **tool_call}
    return tool_call


@dataclass
class _Parts:
    text: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    calls: list[Mapping[str, Any]] = field(default_factory=list)  # the `functionCall` parts


def _split(candidate: Mapping[str, Any]) -> _Parts:
    parts = _Parts()
    for part in (candidate.get("content") or {}).get("parts") or []:
        if part.get("functionCall"):
            parts.calls.append(part)
        elif isinstance(part.get("text"), str):
            (parts.thoughts if part.get("thought") else parts.text).append(part["text"])
    return parts


def is_blocked(response: Mapping[str, Any]) -> bool:
    return not response.get("candidates") and bool(
        (response.get("promptFeedback") or {}).get("blockReason")
    )


def to_completion(response: Mapping[str, Any]) -> JSON:
    """A `chat.completion` for a non-streamed `GenerateContentResponse`."""
    choices: list[JSON] = []
    if is_blocked(response):
        blocked: JSON = {"role": "assistant", "content": "", "refusal": None}
        choices.append(
            {"index": 0, "message": blocked, "logprobs": None, "finish_reason": "content_filter"}
        )
    for position, candidate in enumerate(response.get("candidates") or []):
        parts = _split(candidate)
        message: JSON = {
            "role": "assistant",
            "content": "".join(parts.text) if parts.text or not parts.calls else None,
            "refusal": None,
        }
        if parts.thoughts:
            message["reasoning_content"] = "".join(parts.thoughts)
        if parts.calls:
            message["tool_calls"] = [_tool_call(c) for c in parts.calls]
        reason = finish_reason(candidate.get("finishReason"), bool(parts.calls))
        choices.append(
            {
                "index": candidate.get("index", position),
                "message": message,
                "logprobs": None,
                "finish_reason": reason or ("tool_calls" if parts.calls else "stop"),
            }
        )
    if not choices:
        raise UpstreamError("The upstream provider sent a response without candidates.")
    return {
        "id": str(response.get("responseId") or ""),
        "object": "chat.completion",
        "created": 0,
        "model": str(response.get("modelVersion") or ""),
        "choices": choices,
        "usage": usage(response.get("usageMetadata")),
    }


@dataclass
class StreamState:
    """What earlier events of one stream produced, per candidate index."""

    started: set[int] = field(default_factory=set)
    calls: dict[int, int] = field(default_factory=dict)  # candidate -> tool calls emitted
    finished: set[int] = field(default_factory=set)
    usage: JSON | None = None


def _chunk(choices: list[JSON]) -> Chunk:
    return {
        "id": "",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "",
        "choices": choices,
    }


def _choice(index: int, delta: JSON, reason: str | None = None) -> JSON:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}


def to_chunks(event: Mapping[str, Any], state: StreamState) -> list[Chunk]:
    """The chunks for one streamed `GenerateContentResponse` (updates `state`)."""
    if event.get("usageMetadata"):
        state.usage = usage(event["usageMetadata"])  # running totals: the last one wins
    chunks: list[Chunk] = []
    if is_blocked(event) and 0 not in state.finished:
        state.finished.add(0)
        delta: JSON = (
            {"content": ""} if 0 in state.started else {"role": "assistant", "content": ""}
        )
        state.started.add(0)
        return [_chunk([_choice(0, delta, "content_filter")])]
    for position, candidate in enumerate(event.get("candidates") or []):
        index = int(candidate.get("index", position))
        parts = _split(candidate)
        delta = {}
        if index not in state.started:
            state.started.add(index)
            delta["role"] = "assistant"
            delta["content"] = ""
        if parts.text:
            delta["content"] = "".join(parts.text)
        if parts.thoughts:
            delta["reasoning_content"] = "".join(parts.thoughts)
        if parts.calls:
            first = state.calls.get(index, 0)
            delta["tool_calls"] = [_tool_call(c, first + k) for k, c in enumerate(parts.calls)]
            state.calls[index] = first + len(parts.calls)
        if delta:
            chunks.append(_chunk([_choice(index, delta)]))
        reason = finish_reason(candidate.get("finishReason"), bool(state.calls.get(index)))
        if reason and index not in state.finished:
            state.finished.add(index)
            chunks.append(_chunk([_choice(index, {}, reason)]))
    return chunks


def final_chunks(state: StreamState) -> list[Chunk]:
    """At the end of the stream: one `choices: []` chunk with the last usage reported."""
    if state.usage is None:
        return []
    return [{**_chunk([]), "usage": state.usage}]
