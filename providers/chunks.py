"""Pure functions on `chat.completion.chunk` objects: repairing upstream quirks, reading usage,
and collecting a stream into one `chat.completion` (so the non-streaming path is the streaming
pipeline collected, and both behave the same)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.metering import Usage

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
# What of a streamed choice and of a usage object reaches clients: OpenAI's fields. Upstreams
# add their own (OpenRouter's `native_finish_reason`, its prices `cost`, `cost_details` and
# `is_byok`), and the upstream's pricing is not the client's to see.
CHOICE_FIELDS = ("index", "delta", "logprobs", "finish_reason")
USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
)
# What an upstream may say about the whole answer. OpenAI's schema has `system_fingerprint` as
# a plain string, so one an upstream did not give is left out, never sent as null.
ANSWER_EXTRAS = ("system_fingerprint", "service_tier")


def answer_extras(source: Mapping[str, Any]) -> dict[str, str]:
    """The upstream's `system_fingerprint` and `service_tier`, those it gave."""
    return {key: source[key] for key in ANSWER_EXTRAS if isinstance(source.get(key), str)}


def new_call_id() -> str:
    return f"call_{secrets.token_urlsafe(18)}"


def usage_from(usage: Mapping[str, Any] | None) -> Usage | None:
    """Our Usage from an OpenAI `usage` object (None when absent)."""
    if not usage:
        return None
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


def public_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """An upstream's usage object with OpenAI's fields only (token counts, no prices)."""
    return {name: usage[name] for name in USAGE_FIELDS if name in usage}


def finish_reason(value: Any) -> str | None:
    """Only OpenAI's values reach clients: `""` is no reason yet, anything unknown is `stop`."""
    if not value:
        return None
    return value if value in FINISH_REASONS else "stop"


@dataclass
class ToolCallRepair:
    """Makes streamed tool-call deltas what every client needs (the OpenAI SDKs, LangChain): an
    `index` on each delta; `id` (a string), `type` and `function.name` on the first of each."""

    seen: dict[int, dict[int, str]] = field(default_factory=dict)  # choice -> call index -> id

    def apply(self, choice_index: int, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = self.seen.setdefault(choice_index, {})
        return [self._repair(known, dict(call)) for call in calls]

    @staticmethod
    def _index(known: dict[int, str], call: dict[str, Any]) -> int:
        """Upstreams that omit `index` start a call with an id and continue it without."""
        index = call.get("index")
        if isinstance(index, int):
            return index
        call_id = call.get("id")
        for index, seen_id in known.items():
            if call_id is not None and str(call_id) == seen_id:
                return index
        if call_id is None and known:
            return max(known)
        return max(known) + 1 if known else 0

    def _repair(self, known: dict[int, str], call: dict[str, Any]) -> dict[str, Any]:
        call["index"] = self._index(known, call)
        call["function"] = dict(call.get("function") or {})
        if call["index"] not in known:
            call["id"] = str(call.get("id") or new_call_id())
            call["type"] = "function"
            call["function"].setdefault("name", "")
            call["function"].setdefault("arguments", "")
            known[call["index"]] = call["id"]
        elif call.get("id") is not None:
            call["id"] = str(call["id"])
        return call


def repair_choice(choice: Mapping[str, Any], tools: ToolCallRepair) -> dict[str, Any]:
    fixed = {name: choice[name] for name in CHOICE_FIELDS if name in choice}
    fixed.setdefault("index", 0)
    delta = dict(fixed.get("delta") or {})
    if delta.get("tool_calls"):
        delta["tool_calls"] = tools.apply(fixed["index"], delta["tool_calls"])
    fixed["delta"] = delta
    fixed["finish_reason"] = finish_reason(fixed.get("finish_reason"))
    fixed.setdefault("logprobs", None)
    return fixed


@dataclass
class _Choice:
    index: int
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    logprobs: dict[str, list[Any]] | None = None
    finish_reason: str | None = None

    def add(self, choice: Mapping[str, Any]) -> None:
        delta = choice.get("delta") or {}
        for key, parts in (("content", self.content), ("refusal", self.refusal)):
            if delta.get(key):
                parts.append(delta[key])
        if delta.get("reasoning_content"):
            self.reasoning.append(delta["reasoning_content"])
        for call in delta.get("tool_calls") or []:
            self._add_call(call)
        self._add_logprobs(choice.get("logprobs"))
        self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _add_call(self, call: Mapping[str, Any]) -> None:
        entry = self.calls.setdefault(
            call["index"], {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        entry["id"] = call.get("id") or entry["id"]
        function = call.get("function") or {}
        entry["function"]["name"] = function.get("name") or entry["function"]["name"]
        entry["function"]["arguments"] += function.get("arguments") or ""

    def _add_logprobs(self, logprobs: Mapping[str, Any] | None) -> None:
        if not logprobs:
            return
        self.logprobs = self.logprobs or {"content": [], "refusal": []}
        for key in ("content", "refusal"):
            self.logprobs[key].extend(logprobs.get(key) or [])

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content or not self.calls else None,
            "refusal": "".join(self.refusal) or None,
            "annotations": [],
        }
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        return message

    def as_openai(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "message": self.message(),
            "logprobs": self.logprobs,
            "finish_reason": self.finish_reason or ("tool_calls" if self.calls else "stop"),
        }


@dataclass
class Collector:
    """Accumulates repaired chunks into one `chat.completion`."""

    choices: dict[int, _Choice] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] | None = None

    def add(self, chunk: Mapping[str, Any]) -> None:
        if chunk.get("usage"):
            self.usage = dict(chunk["usage"])
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            self.choices.setdefault(index, _Choice(index)).add(choice)
        self.extras.update(answer_extras(chunk))

    def completion(
        self, *, id: str, created: int, model: str, usage: Usage | None = None
    ) -> dict[str, Any]:
        choices = [self.choices[i].as_openai() for i in sorted(self.choices)] or [
            _Choice(0).as_openai()
        ]
        return {
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage_payload(usage) if usage is not None else self.usage,
            **self.extras,
        }


def usage_payload(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


async def collect(chunks: AsyncIterator[Mapping[str, Any]]) -> dict[str, Any]:
    """A whole `chat.completion` from a provider's stream, for providers that have no
    separate non-streaming call."""
    collector, tools = Collector(), ToolCallRepair()
    async for chunk in chunks:
        choices = [repair_choice(c, tools) for c in chunk.get("choices") or []]
        collector.add({**chunk, "choices": choices})
    return collector.completion(id="", created=0, model="")


def repair_completion_choice(choice: Mapping[str, Any], position: int) -> dict[str, Any]:
    """A non-streamed choice as every client needs it: `role`, `content` and `refusal` always
    present, string tool-call ids, and OpenAI's finish reasons only."""
    message = dict(choice.get("message") or {})
    message["role"] = "assistant"
    message.setdefault("content", None)
    message.setdefault("refusal", None)
    calls = message.get("tool_calls")
    if calls:
        message["tool_calls"] = [
            {
                **call,
                "id": str(call.get("id") or new_call_id()),
                "type": call.get("type") or "function",
            }
            for call in calls
        ]
    return {
        "index": choice.get("index", position),
        "message": message,
        "logprobs": choice.get("logprobs"),
        "finish_reason": finish_reason(choice.get("finish_reason"))
        or ("tool_calls" if calls else "stop"),
    }
