"""OpenAI's Responses API on top of Chat Completions, as pure functions on plain data.

- `input_items(request)`: the request's `input` as a list of items (a string is one user message).
- `chat_request(request, items)`: a Responses request, with the conversation's items
  (earlier turns' input and output, then this turn's input), as a chat completions body.
- `completion_chunk(completion)`: a whole `chat.completion` as one chunk, so a non-streamed
  answer goes through the same event builder (`usecases/responses_events.py`) as a stream.
- `response_usage(usage)`: a chat `usage` object as the Responses `usage` object.

Only what Chat Completions can express is translated: function tools, messages with text,
images and files, function calls and their outputs. Anything else is refused with 400
(`unsupported_parameter`) before any upstream call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import InvalidRequest

Json = dict[str, Any]

# Responses fields that mean the same in a chat request.
SAME_FIELDS = (
    "models",  # the gateway's fallbacks (gateway/attempts.py)
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
    "user",
)


def _refuse(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="unsupported_parameter")


# ----------------------------------------------------------------------------------------------
# Input items
# ----------------------------------------------------------------------------------------------


def input_items(request: Mapping[str, Any]) -> list[Json]:
    """This turn's items; a string input is one user message, as OpenAI stores it."""
    given = request.get("input")
    if given is None:
        return []
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": given}]
    return [dict(item) for item in given]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        str(p.get("text") or p.get("refusal") or "")
        for p in content or []
        if isinstance(p, Mapping)
    )


def _user_part(part: Mapping[str, Any], param: str) -> Json:
    part_type = part.get("type")
    if part_type in ("input_text", "output_text", "text", "refusal"):
        return {"type": "text", "text": _text_of([part])}
    if part_type == "input_image":
        if part.get("image_url") is None:
            raise _refuse("Images by `file_id` are not supported; send `image_url`.", param)
        image = {"url": part["image_url"], "detail": part.get("detail") or "auto"}
        return {"type": "image_url", "image_url": image}
    if part_type == "input_file":
        return {"type": "file", "file": _file(part, param)}
    raise _refuse(f"Content of type `{part_type}` is not supported in a message.", param)


def _file(part: Mapping[str, Any], param: str) -> Json:
    if part.get("file_data") is not None:
        return {"filename": part.get("filename") or "file", "file_data": part["file_data"]}
    if part.get("file_id") is not None:
        return {"file_id": part["file_id"]}
    raise _refuse("Files are supported as `file_data` or `file_id`, not by URL.", param)


def _message(item: Mapping[str, Any], param: str) -> Json:
    role, content = item.get("role"), item.get("content")
    if role == "assistant":
        return {"role": "assistant", "content": _text_of(content)}
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role in ("system", "developer"):
        return {"role": role, "content": _text_of(content)}
    parts = [_user_part(p, f"{param}.content[{i}]") for i, p in enumerate(content or [])]
    return {"role": role, "content": parts or ""}


def _call(item: Mapping[str, Any]) -> Json:
    return {
        "id": str(item.get("call_id") or item.get("id") or ""),
        "type": "function",
        "function": {"name": item.get("name", ""), "arguments": item.get("arguments") or ""},
    }


def _tool_output(item: Mapping[str, Any]) -> Json:
    output = item.get("output")
    content = output if isinstance(output, str) else _text_of(output)
    return {"role": "tool", "tool_call_id": str(item.get("call_id") or ""), "content": content}


def chat_messages(items: Sequence[Mapping[str, Any]], param: str = "input") -> list[Json]:
    """Items as chat messages: a model's function calls join the assistant message before
    them (one assistant turn, as Chat Completions has it); reasoning items are left out,
    since Chat Completions has no way to send them back."""
    messages: list[Json] = []
    for index, item in enumerate(items):
        item_type = item.get("type") or "message"
        where = f"{param}[{index}]"
        if item_type == "message":
            messages.append(_message(item, where))
        elif item_type == "function_call":
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": None}
                messages.append(last)
            last.setdefault("tool_calls", []).append(_call(item))
        elif item_type == "function_call_output":
            messages.append(_tool_output(item))
        elif item_type != "reasoning":
            raise _refuse(f"Input items of type `{item_type}` are not supported.", f"{where}.type")
    return messages


# ----------------------------------------------------------------------------------------------
# Request
# ----------------------------------------------------------------------------------------------


def _tool(tool: Mapping[str, Any], index: int) -> Json:
    if tool.get("type") != "function":
        raise _refuse(
            f"Tools of type `{tool.get('type')}` are not supported; only `function` tools are.",
            f"tools[{index}].type",
        )
    function = {
        key: tool[key]
        for key in ("name", "description", "parameters", "strict")
        if tool.get(key) is not None
    }
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    choice_type = choice.get("type")
    if choice_type == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if choice_type == "allowed_tools":
        tools = [
            {"type": "function", "function": {"name": t.get("name")}}
            for t in choice.get("tools") or []
            if t.get("type") == "function"
        ]
        return {"type": "allowed_tools", "allowed_tools": {"mode": choice["mode"], "tools": tools}}
    raise _refuse(f"`tool_choice` of type `{choice_type}` is not supported.", "tool_choice")


def _response_format(text: Mapping[str, Any]) -> Json | None:
    format_ = text.get("format") or {}
    format_type = format_.get("type")
    if format_type == "json_object":
        return {"type": "json_object"}
    if format_type == "json_schema":
        schema = {
            key: format_[key]
            for key in ("name", "description", "schema", "strict")
            if format_.get(key) is not None
        }
        return {"type": "json_schema", "json_schema": schema}
    return None


def _refuse_unsupported(request: Mapping[str, Any]) -> None:
    if request.get("background"):
        raise _refuse("Background responses are not supported.", "background")
    if request.get("conversation"):
        raise _refuse(
            "Conversations are not supported; use `previous_response_id`.", "conversation"
        )
    if request.get("prompt"):
        raise _refuse("Prompt templates are not supported.", "prompt")


def chat_request(request: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Json:
    """The chat completions body for a Responses request over the conversation's `items`.
    `instructions` apply to this turn only (OpenAI does not carry them over)."""
    _refuse_unsupported(request)
    messages = chat_messages(items)
    if request.get("instructions"):
        messages.insert(0, {"role": "system", "content": request["instructions"]})
    body: Json = {"model": request["model"], "messages": messages}
    for key in SAME_FIELDS:
        if request.get(key) is not None:
            body[key] = request[key]
    if request.get("max_output_tokens") is not None:
        body["max_completion_tokens"] = request["max_output_tokens"]
    if request.get("tools"):
        body["tools"] = [_tool(t, i) for i, t in enumerate(request["tools"])]
    if request.get("tool_choice") is not None:
        body["tool_choice"] = _tool_choice(request["tool_choice"])
    text = request.get("text") or {}
    if (response_format := _response_format(text)) is not None:
        body["response_format"] = response_format
    if text.get("verbosity"):
        body["verbosity"] = text["verbosity"]
    if (request.get("reasoning") or {}).get("effort"):
        body["reasoning_effort"] = request["reasoning"]["effort"]
    return body


# ----------------------------------------------------------------------------------------------
# Answers
# ----------------------------------------------------------------------------------------------


def completion_chunk(completion: Mapping[str, Any]) -> Json:
    """A `chat.completion`'s first choice as one chunk with the whole message as its delta."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    delta: Json = {
        key: message[key] for key in ("content", "refusal", "reasoning_content") if message.get(key)
    }
    calls = message.get("tool_calls") or []
    if calls:
        delta["tool_calls"] = [{**call, "index": i} for i, call in enumerate(calls)]
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}]}


def response_usage(usage: Mapping[str, Any]) -> Json:
    """Chat usage as Responses usage (`input_tokens`, `output_tokens` and their details)."""
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    input_details = usage.get("prompt_tokens_details") or {}
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(input_details.get("cached_tokens") or 0),
            "cache_write_tokens": int(input_details.get("cache_write_tokens") or 0),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(reasoning)},
        "total_tokens": prompt + completion,
    }
