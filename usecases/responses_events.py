"""Chat completion chunks as a Responses API `response` and its stream events: a pure,
incremental state machine.

`ResponseEvents(shell)` holds the `response` object being built. `start()` gives
`response.created` and `response.in_progress`; `feed(chunk)` turns one (repaired) chat chunk into
the events it causes; `finish(usage, completed_at)` closes what is open and ends with
`response.completed` or `response.incomplete`; `fail(code, message, usage)` ends with
`response.failed`. Every event carries the next `sequence_number`.

Items follow OpenAI's order of events: a message is
`output_item.added`, `content_part.added`, `output_text.delta`..., `output_text.done`,
`content_part.done`, `output_item.done`; a function call is `output_item.added`,
`function_call_arguments.delta`..., `function_call_arguments.done`, `output_item.done`. Reasoning
text (`reasoning_content` from providers that stream it) is a `reasoning` item with
`reasoning_text` parts. Function calls stay open until something else starts or the response
ends, so parallel calls whose argument fragments interleave still reach their own item.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

# Chat content field -> (item type, part type, delta event, done event, part text field)
PARTS = {
    "reasoning_content": (
        "reasoning",
        "reasoning_text",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "text",
    ),
    "content": (
        "message",
        "output_text",
        "response.output_text.delta",
        "response.output_text.done",
        "text",
    ),
    "refusal": ("message", "refusal", "response.refusal.delta", "response.refusal.done", "refusal"),
}
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def shell(request: Mapping[str, Any], *, response_id: str, created_at: int) -> Json:
    """The `response` object for a request, before any output: what OpenAI echoes of the
    request, with its defaults filled in."""
    text = request.get("text") or {}
    reasoning = request.get("reasoning") or {}
    response = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "model": request["model"],
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": request.get("service_tier") or "auto",
        "store": request.get("store") is not False,
        "temperature": _or(request.get("temperature"), 1.0),
        "text": {
            "format": text.get("format") or {"type": "text"},
            "verbosity": text.get("verbosity") or "medium",
        },
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": [_tool(t) for t in request.get("tools") or []],
        "top_logprobs": request.get("top_logprobs") or 0,
        "top_p": _or(request.get("top_p"), 1.0),
        "truncation": request.get("truncation") or "disabled",
        "metadata": request.get("metadata") or {},
    }
    if request.get("user"):  # deprecated; OpenAI's schema has no null for it
        response["user"] = request["user"]
    return response


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _tool(tool: Mapping[str, Any]) -> Json:
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }


def outcome(finish_reason: str | None) -> tuple[str, Json | None]:
    """The response's status and `incomplete_details` for the chat finish reason."""
    reason = INCOMPLETE_REASONS.get(finish_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def error_code(http_status: int) -> str:
    """A failure's `error.code`, from OpenAI's `ResponseErrorCode` values."""
    return "rate_limit_exceeded" if http_status == 429 else "server_error"


@dataclass
class _Open:
    """An output item not yet done, and its content part being written (if any)."""

    index: int
    item: Json
    part: Json | None = None
    part_kind: str | None = None  # a key of PARTS


@dataclass
class ResponseEvents:
    response: Json
    sequence: int = 0
    open: list[_Open] = field(default_factory=list)
    calls: dict[int, _Open] = field(default_factory=dict)  # chat tool-call index -> its item
    finish_reason: str | None = None

    def snapshot(self) -> Json:
        return copy.deepcopy(self.response)

    def _event(self, event_type: str, **fields: Any) -> Json:
        event = {"type": event_type, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return event

    def start(self) -> list[Json]:
        return [
            self._event("response.created", response=self.snapshot()),
            self._event("response.in_progress", response=self.snapshot()),
        ]

    def feed(self, chunk: Mapping[str, Any]) -> list[Json]:
        """The events one chat chunk causes (only its first choice: Responses has one)."""
        events: list[Json] = []
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            for key in PARTS:
                if delta.get(key):
                    events += self._text(key, str(delta[key]))
            for call in delta.get("tool_calls") or []:
                events += self._call(call)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return events

    def finish(self, usage: Json, completed_at: int) -> list[Json]:
        """Close every open item and end the response as completed or incomplete."""
        status, details = outcome(self.finish_reason)
        item_status = "completed" if status == "completed" else "incomplete"
        events = self._close_all(item_status)
        self.response.update(status=status, incomplete_details=details, usage=usage)
        if status == "completed":
            self.response["completed_at"] = completed_at
        return [*events, self._event(f"response.{status}", response=self.snapshot())]

    def fail(self, code: str, message: str, usage: Json | None) -> list[Json]:
        """End the response as failed; what was produced stays in `output`, incomplete."""
        for entry in self.open:
            entry.item["status"] = "incomplete"
        self.open.clear()
        self.response.update(status="failed", error={"code": code, "message": message})
        if usage is not None:
            self.response["usage"] = usage
        return [self._event("response.failed", response=self.snapshot())]

    # ---- items ---------------------------------------------------------------------------

    def _add(self, item: Json) -> tuple[_Open, Json]:
        entry = _Open(index=len(self.response["output"]), item=item)
        self.response["output"].append(item)
        self.open.append(entry)
        added = self._event(
            "response.output_item.added", output_index=entry.index, item=copy.deepcopy(item)
        )
        return entry, added

    def _close_all(self, status: str = "completed", keep: str | None = None) -> list[Json]:
        """Close open items (all but those of type `keep`), in the order they were opened."""
        events: list[Json] = []
        for entry in [e for e in self.open if e.item["type"] != keep]:
            events += self._close(entry, status)
            self.open.remove(entry)
        return events

    def _close(self, entry: _Open, status: str) -> list[Json]:
        item = entry.item
        events = self._close_part(entry)
        if item["type"] == "function_call":
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=entry.index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        if "status" in item:
            item["status"] = status
        events.append(
            self._event(
                "response.output_item.done", output_index=entry.index, item=copy.deepcopy(item)
            )
        )
        return events

    # ---- text, refusal and reasoning -----------------------------------------------------

    def _text(self, key: str, delta: str) -> list[Json]:
        item_type, _, delta_event, _, field_name = PARTS[key]
        events: list[Json] = []
        current = self.open[-1] if self.open else None
        if current is None or current.item["type"] != item_type:
            events += self._close_all()
            current, added = self._add(_new_item(item_type))
            events.append(added)
        if current.part_kind != key:
            events += self._close_part(current)
            events.append(self._open_part(current, key))
        assert current.part is not None
        current.part[field_name] += delta
        position = self._position(current)
        extra: Json = {"logprobs": []} if key == "content" else {}
        events.append(self._event(delta_event, **position, delta=delta, **extra))
        return events

    def _position(self, entry: _Open) -> Json:
        content_index = len(entry.item["content"]) - 1
        return {
            "item_id": entry.item["id"],
            "output_index": entry.index,
            "content_index": content_index,
        }

    def _open_part(self, entry: _Open, key: str) -> Json:
        _, part_type, _, _, field_name = PARTS[key]
        part: Json = {"type": part_type, field_name: ""}
        if part_type == "output_text":
            part.update(annotations=[], logprobs=[])
        entry.item["content"].append(part)
        entry.part, entry.part_kind = part, key
        return self._event(
            "response.content_part.added", **self._position(entry), part=copy.deepcopy(part)
        )

    def _close_part(self, entry: _Open) -> list[Json]:
        if entry.part is None or entry.part_kind is None:
            return []
        _, _, _, done_event, field_name = PARTS[entry.part_kind]
        part, position = entry.part, self._position(entry)
        extra: Json = {"logprobs": []} if entry.part_kind == "content" else {}
        entry.part = entry.part_kind = None
        return [
            self._event(done_event, **position, **{field_name: part[field_name]}, **extra),
            self._event("response.content_part.done", **position, part=copy.deepcopy(part)),
        ]

    # ---- function calls ------------------------------------------------------------------

    def _call(self, call: Mapping[str, Any]) -> list[Json]:
        events: list[Json] = []
        function = call.get("function") or {}
        index = int(call.get("index") or 0)
        entry = self.calls.get(index)
        if entry is None or entry not in self.open:
            events += self._close_all(keep="function_call")
            item = _new_item("function_call")
            item["call_id"] = str(call.get("id") or new_id("call"))
            item["name"] = function.get("name") or ""
            entry, added = self._add(item)
            self.calls[index] = entry
            events.append(added)
        if function.get("name") and not entry.item["name"]:
            entry.item["name"] = function["name"]
        fragment = function.get("arguments") or ""
        if fragment:
            entry.item["arguments"] += fragment
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=entry.item["id"],
                    output_index=entry.index,
                    delta=fragment,
                )
            )
        return events


def _new_item(item_type: str) -> Json:
    if item_type == "message":
        return {
            "id": new_id("msg"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
    if item_type == "reasoning":
        return {"id": new_id("rs"), "type": "reasoning", "summary": [], "content": []}
    return {
        "id": new_id("fc"),
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": "",
        "name": "",
    }
