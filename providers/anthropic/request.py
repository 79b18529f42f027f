"""An OpenAI chat request as an Anthropic Messages request (`POST /v1/messages`): pure functions
on plain data, `to_upstream(body, upstream_id, stream=...)` first among them.

The answers are translated back in providers/anthropic/answers.py, and the calls are made by
providers/anthropic/client.py. What is mapped, approximated or refused is listed in
docs/providers/anthropic.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidRequest

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
THINKING_BUDGETS = {
    "minimal": 1024,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
    "xhigh": 32768,
    "max": 32768,
}
JSON_INSTRUCTION = "Respond with a single JSON object only, with no text before or after it."
_DATA_URL = re.compile(
    r"^data:(?P<type>[^;,]+)(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)$", re.S
)
_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")

Json = dict[str, Any]


# ----------------------------------------------------------------------------------------------
# Request: OpenAI chat request -> Messages request
# ----------------------------------------------------------------------------------------------


def _refuse(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="unsupported_parameter")


def _tool_id(value: Any) -> str:
    """Anthropic tool ids must match ^[a-zA-Z0-9_-]+$; other clients' ids may not."""
    return _TOOL_ID_UNSAFE.sub("_", str(value or "")) or "call"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or p.get("refusal") or "") for p in content if isinstance(p, dict)
        )
    return ""


def image_block(url: str) -> Json:
    """An `image_url` as an Anthropic image: data URLs inline (base64), others by URL."""
    match = _DATA_URL.match(url)
    if match:
        source = {"type": "base64", "media_type": match["type"], "data": match["data"]}
        return {"type": "image", "source": source}
    if url.startswith("data:"):
        raise InvalidRequest(
            "Image data URLs must be base64-encoded (data:<type>;base64,...).",
            param="messages",
            code="invalid_image_url",
        )
    return {"type": "image", "source": {"type": "url", "url": url}}


def _file_block(file: Mapping[str, Any]) -> Json:
    match = _DATA_URL.match(str(file.get("file_data") or ""))
    if not match:
        raise _refuse(
            "Anthropic models take files only inline, as `file.file_data` base64 data URLs.",
            "messages",
        )
    source = {"type": "base64", "media_type": match["type"], "data": match["data"]}
    return {"type": "document", "source": source}


def content_blocks(content: Any) -> list[Json]:
    """A user or assistant message's content as Anthropic content blocks (empty text dropped:
    Anthropic refuses empty text blocks)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Json] = []
    for part in content:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "refusal" and part.get("refusal"):
            blocks.append({"type": "text", "text": part["refusal"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            blocks.append(image_block(str(url or "")))
        elif kind == "file":
            blocks.append(_file_block(part.get("file") or {}))
        elif kind == "input_audio":
            raise _refuse("Anthropic models do not accept audio input.", "messages")
    return blocks


def _tool_use(call: Mapping[str, Any]) -> Json:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError as exc:
        raise InvalidRequest(
            "An assistant tool call's `function.arguments` is not valid JSON.", param="messages"
        ) from exc
    return {
        "type": "tool_use",
        "id": _tool_id(call.get("id")),
        "name": str(function.get("name") or ""),
        "input": value if isinstance(value, dict) else {"value": value},
    }


def _append(turns: list[Json], role: str, blocks: list[Json]) -> None:
    """Consecutive turns of one role become one turn (tool results and the user's next words
    share a user turn, results first)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _simplify(turn: Json) -> Json:
    """A turn that is one text block is sent as a plain string, as Anthropic's examples do."""
    blocks = turn["content"]
    if len(blocks) == 1 and blocks[0]["type"] == "text" and set(blocks[0]) == {"type", "text"}:
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return turn


def split_messages(messages: list[Mapping[str, Any]]) -> tuple[str | None, list[Json]]:
    """(the system prompt, the user/assistant turns) of an OpenAI conversation."""
    system: list[str] = []
    turns: list[Json] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append(text)
        elif role == "user":
            _append(turns, "user", content_blocks(message.get("content")))
        elif role == "assistant":
            blocks = content_blocks(message.get("content"))
            blocks.extend(_tool_use(call) for call in message.get("tool_calls") or [])
            _append(turns, "assistant", blocks)
        elif role in ("tool", "function"):
            result = {
                "type": "tool_result",
                "tool_use_id": _tool_id(message.get("tool_call_id") or message.get("name")),
                "content": _text_of(message.get("content")),
            }
            _append(turns, "user", [result])
    return ("\n\n".join(system) or None), [_simplify(turn) for turn in turns]


def _tool(tool: Mapping[str, Any]) -> Json:
    if tool.get("type") not in (None, "function"):
        raise _refuse("Anthropic models take only `function` tools.", "tools")
    function = tool.get("function") or {}
    converted: Json = {
        "name": str(function.get("name") or ""),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        converted["description"] = function["description"]
    return converted


def _tool_choice(choice: Any) -> Json | None:
    if choice is None or choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "tool", "name": str((choice.get("function") or {}).get("name") or "")}
    raise _refuse("This `tool_choice` is not supported by Anthropic models.", "tool_choice")


def json_tool_name(body: Mapping[str, Any]) -> str | None:
    """The forced tool that carries a `json_schema` answer, when the request uses one."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") != "json_schema" or body.get("tools"):
        return None
    schema = response_format.get("json_schema") or {}
    return str(schema.get("name") or "json_response")


def _response_format(body: Mapping[str, Any], request: Json, system: list[str]) -> None:
    response_format = body.get("response_format") or {}
    kind = response_format.get("type")
    if kind == "json_object":
        system.append(JSON_INSTRUCTION)
    elif kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        name = json_tool_name(body)
        if name is None:  # the client's own tools are in play: instruct instead of forcing
            system.append(
                f"{JSON_INSTRUCTION} It must match this JSON Schema: {json.dumps(schema)}"
            )
            return
        tool: Json = {"name": name, "input_schema": schema}
        tool["description"] = spec.get("description") or "Give the answer as this tool's input."
        request["tools"] = [tool]
        request["tool_choice"] = {"type": "tool", "name": name}


def _thinking_allowed(body: Mapping[str, Any], request: Json) -> bool:
    """Anthropic refuses thinking with a forced tool, and in a tool loop it would need the
    signed thinking blocks of the previous assistant turn, which OpenAI clients cannot send."""
    if (request.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return False
    messages = body.get("messages") or []
    return not (messages and messages[-1].get("role") in ("tool", "function"))


def to_upstream(body: Mapping[str, Any], upstream_id: str, *, stream: bool) -> Json:
    """The Messages request for an OpenAI chat request (InvalidRequest for what it refuses)."""
    if (body.get("n") or 1) > 1:
        raise _refuse("Anthropic models return one choice: `n` must be 1.", "n")
    if body.get("logprobs"):
        raise _refuse("Anthropic models do not return log probabilities.", "logprobs")
    if "audio" in (body.get("modalities") or []):
        raise _refuse("Anthropic models do not produce audio.", "modalities")
    system_text, messages = split_messages(list(body.get("messages") or []))
    system = [system_text] if system_text else []
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    request: Json = {
        "model": upstream_id,
        "max_tokens": int(requested or DEFAULT_MAX_TOKENS),
        "messages": messages,
    }
    tools = [_tool(tool) for tool in body.get("tools") or []]
    if tools:
        request["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"))
        if body.get("parallel_tool_calls") is False and choice and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        request["tool_choice"] = choice
    _response_format(body, request, system)
    stops = body.get("stop")
    stops = [stops] if isinstance(stops, str) else [s for s in stops or [] if s]
    if stops:
        request["stop_sequences"] = stops
    budget = THINKING_BUDGETS.get(str(body.get("reasoning_effort") or ""))
    if budget and _thinking_allowed(body, request):
        request["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if request["max_tokens"] <= budget:
            request["max_tokens"] = budget + int(requested or DEFAULT_MAX_TOKENS)
    else:  # Anthropic refuses sampling changes with thinking on
        if body.get("temperature") is not None:
            request["temperature"] = min(float(body["temperature"]), 1.0)
        if body.get("top_p") is not None:
            request["top_p"] = body["top_p"]
    if system:
        request["system"] = "\n\n".join(system)
    if body.get("user"):
        request["metadata"] = {"user_id": str(body["user"])}
    if stream:
        request["stream"] = True
    return request
