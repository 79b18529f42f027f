"""Anthropic's answers as OpenAI's: a Messages response -> a `chat.completion`
(`to_completion`), Messages SSE events -> `chat.completion.chunk`s (`StreamTranslator`), and
Anthropic's errors, whole or inside a stream, as ours. Pure functions on plain data;
providers/anthropic/request.py translates the requests and makes the calls."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import GatewayError, UpstreamError, UpstreamUnavailable
from domain.scrub import scrub
from providers.base import PARTIAL_USAGE, Chunk

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


Json = dict[str, Any]


# ----------------------------------------------------------------------------------------------
# Response: Messages response -> chat.completion
# ----------------------------------------------------------------------------------------------


def finish_reason(stop_reason: Any, json_tool: str | None = None) -> str:
    reason = FINISH_REASONS.get(str(stop_reason), "stop")
    return "stop" if json_tool and reason == "tool_calls" else reason


def usage(raw: Mapping[str, Any]) -> Json:
    """Anthropic usage as OpenAI's: prompt tokens include cache reads and writes."""
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    cache_write = int(raw.get("cache_creation_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + cache_read + cache_write
    completion = int(raw.get("output_tokens") or 0)
    payload: Json = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }
    thinking = (raw.get("output_tokens_details") or {}).get("thinking_tokens")
    if thinking is not None:
        payload["completion_tokens_details"] = {"reasoning_tokens": int(thinking)}
    return payload


def to_completion(message: Mapping[str, Any], json_tool: str | None = None) -> Json:
    """A `chat.completion` for a Messages response (ids, model and created are relabelled by
    the gateway afterwards)."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[Json] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text") or ""))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking") or ""))
        elif kind == "tool_use" and json_tool and block.get("name") == json_tool:
            text.append(json.dumps(block.get("input") or {}))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {})
            function = {"name": block.get("name") or "", "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
    result: Json = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
        "refusal": None,
    }
    if reasoning:
        result["reasoning_content"] = "".join(reasoning)
    if calls:
        result["tool_calls"] = calls
    choice = {
        "index": 0,
        "message": result,
        "logprobs": None,
        "finish_reason": finish_reason(message.get("stop_reason"), json_tool),
    }
    return {
        "id": message.get("id") or "",
        "object": "chat.completion",
        "created": 0,
        "model": message.get("model") or "",
        "choices": [choice],
        "usage": usage(message.get("usage") or {}),
    }


# ----------------------------------------------------------------------------------------------
# Stream: Messages SSE events -> chat.completion.chunks
# ----------------------------------------------------------------------------------------------


def read_error(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, param, code) from Anthropic's `{"type":"error","error":{type, message}}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    message = error.get("message")
    kind = error.get("type")
    code = None if kind in (None, "invalid_request_error") else str(kind)
    return (str(message) if message is not None else None), None, code


def stream_error(data: Mapping[str, Any], secrets: Sequence[str] = ()) -> GatewayError:
    """What an `event: error` after the 200 headers becomes (`secrets`: the credentials the
    request went out with, never repeated to the client)."""
    message, _, kind = read_error(data)
    text = scrub(message or "unknown error", secrets)
    if kind in ("overloaded_error", "rate_limit_error"):
        return UpstreamUnavailable(f"The upstream provider is overloaded or unavailable: {text}")
    return UpstreamError(f"The upstream provider failed mid-stream: {text}")


def _chunk(delta: Json, finish: str | None = None) -> Chunk:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {"object": "chat.completion.chunk", "choices": [choice]}


@dataclass
class StreamTranslator:
    """Messages stream events in, OpenAI chunks out. Pure apart from its own bookkeeping:
    which block index is which tool call, the usage so far, the JSON-answer tool."""

    json_tool: str | None = None
    tool_index: dict[int, int] = field(default_factory=dict)  # block index -> tool_calls index
    tool_arguments: dict[int, bool] = field(default_factory=dict)  # block -> sent any argument
    json_blocks: set[int] = field(default_factory=set)
    raw_usage: Json = field(default_factory=dict)
    usage_sent: bool = False
    secrets: Sequence[str] = ()

    def feed(self, event: str | None, data: Mapping[str, Any]) -> list[Chunk]:
        kind = data.get("type") or event
        handler = getattr(self, f"_on_{kind}", None)
        return handler(data) if handler is not None else []  # ping and unknown events

    def finish(self) -> list[Chunk]:
        """At the end of the body: the usage chunk, unless `message_stop` already sent it."""
        if self.usage_sent or not self.raw_usage:
            return []
        self.usage_sent = True
        return [{"object": "chat.completion.chunk", "choices": [], "usage": usage(self.raw_usage)}]

    def _on_error(self, data: Mapping[str, Any]) -> list[Chunk]:
        raise stream_error(data, self.secrets)

    def _on_message_start(self, data: Mapping[str, Any]) -> list[Chunk]:
        self.raw_usage.update((data.get("message") or {}).get("usage") or {})
        first = _chunk({"role": "assistant", "content": ""})
        if self.raw_usage:  # the prompt's real count, should the stream be cut short
            first[PARTIAL_USAGE] = usage(self.raw_usage)
        return [first]

    def _on_content_block_start(self, data: Mapping[str, Any]) -> list[Chunk]:
        index = int(data.get("index") or 0)
        block = data.get("content_block") or {}
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [_chunk({"content": block["text"]})]
        if kind != "tool_use":
            return []
        if self.json_tool and block.get("name") == self.json_tool:
            self.json_blocks.add(index)
            return []
        position = len(self.tool_index)
        self.tool_index[index] = position
        self.tool_arguments[index] = False
        call = {
            "index": position,
            "id": str(block.get("id") or ""),
            "type": "function",
            "function": {"name": str(block.get("name") or ""), "arguments": ""},
        }
        return [_chunk({"tool_calls": [call]})]

    def _on_content_block_delta(self, data: Mapping[str, Any]) -> list[Chunk]:
        index = int(data.get("index") or 0)
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [_chunk({"content": delta["text"]})]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [_chunk({"reasoning_content": delta["thinking"]})]
        if kind != "input_json_delta" or not delta.get("partial_json"):
            return []  # signature_delta, citations_delta, empty fragments
        fragment = str(delta["partial_json"])
        if index in self.json_blocks:
            return [_chunk({"content": fragment})]
        if index not in self.tool_index:
            return []
        self.tool_arguments[index] = True
        call = {"index": self.tool_index[index], "function": {"arguments": fragment}}
        return [_chunk({"tool_calls": [call]})]

    def _on_content_block_stop(self, data: Mapping[str, Any]) -> list[Chunk]:
        index = int(data.get("index") or 0)
        if index in self.tool_index and not self.tool_arguments[index]:
            # A call with no input sent no fragment: clients parse the arguments as JSON.
            self.tool_arguments[index] = True
            call = {"index": self.tool_index[index], "function": {"arguments": "{}"}}
            return [_chunk({"tool_calls": [call]})]
        return []

    def _on_message_delta(self, data: Mapping[str, Any]) -> list[Chunk]:
        # Usage in message_delta is cumulative: it replaces what message_start said.
        self.raw_usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        stop_reason = (data.get("delta") or {}).get("stop_reason")
        if not stop_reason:
            return []
        return [_chunk({}, finish_reason(stop_reason, self.json_tool))]

    def _on_message_stop(self, data: Mapping[str, Any]) -> list[Chunk]:
        return self.finish()
