"""How `writingmate/echo`, the built-in offline model, answers a chat (so the gateway does its
main job with no provider keys, and tests are deterministic). Pure functions on plain data.

- It answers with the last user message (as `{"echo": ...}` when JSON output is asked for).
- Given tools, it calls one when `tool_choice` requires it or the prompt names a tool; the
  arguments are a JSON object written in the prompt, or else the required parameters filled
  with the prompt's text. Prompts naming several tools get parallel calls.
- After a tool result it answers `Tool result: <content>`.
- Its tokens are words and punctuation marks (`\\w+|[^\\w\\s]`); usage counts exactly those, in
  every message's text, and honours `max_tokens`/`max_completion_tokens` and `stop`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.metering import Usage
from providers.base import Chunk
from providers.chunks import usage_payload

TOKEN = re.compile(r"\w+|[^\w\s]")
WORD = re.compile(r"\s*\S+\s*|\s+")


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and p.get("text"))
    return ""


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def prompt_tokens(messages: list[Mapping[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += count_tokens(text_of(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            total += count_tokens(f"{function.get('name', '')} {function.get('arguments', '')}")
    return total


def _tool_name(tool: Mapping[str, Any]) -> str:
    return str(
        (tool.get("function") or tool.get("custom") or {}).get("name") or tool.get("name", "")
    )


def chosen_tools(body: Mapping[str, Any], prompt: str) -> list[Mapping[str, Any]]:
    tools = [t for t in body.get("tools") or [] if _tool_name(t)]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return []
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or choice.get("custom") or {}).get("name")
        return [t for t in tools if _tool_name(t) == wanted][:1]
    named = [t for t in tools if re.search(rf"\b{re.escape(_tool_name(t))}\b", prompt)]
    if body.get("parallel_tool_calls") is False:
        named = named[:1]
    return named or (tools[:1] if choice == "required" else [])


def _filler(schema: Mapping[str, Any], prompt: str) -> Any:
    schema_type = schema.get("type")
    schema_type = (
        next((k for k in schema_type if k != "null"), "string")
        if isinstance(schema_type, list)
        else schema_type
    )
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    fillers: dict[str, Any] = {
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "object": {},
    }
    return fillers.get(str(schema_type), prompt)


def arguments_for(tool: Mapping[str, Any], prompt: str) -> str:
    written = re.search(r"\{.*\}", prompt, re.DOTALL)
    if written:
        try:
            return json.dumps(json.loads(written.group(0)))
        except ValueError:
            pass
    parameters = (tool.get("function") or {}).get("parameters") or {}
    properties = parameters.get("properties") or {}
    required = parameters.get("required") or list(properties)[:1]
    return json.dumps({name: _filler(properties.get(name, {}), prompt) for name in required})


def reply_text(body: Mapping[str, Any], messages: list[Mapping[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"Tool result: {text_of(last.get('content'))}"
    users = [m for m in messages if m.get("role") == "user"]
    text = text_of(users[-1].get("content")) if users else ""
    format_type = (body.get("response_format") or {}).get("type")
    if format_type in ("json_object", "json_schema"):
        return json.dumps({"echo": text})
    return text or "(empty message)"


def limit_reply(text: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """Apply `stop` and the token limit; return the text and its finish reason."""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else stops or []:
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = body.get("max_completion_tokens")
    if limit is None:  # 0 is a limit (legacy completions allow it): `or` would skip it
        limit = body.get("max_tokens")
    tokens = list(TOKEN.finditer(text))
    if limit is not None and len(tokens) > limit:
        return text[: tokens[limit - 1].end()] if limit > 0 else "", "length"
    return text, "stop"


@dataclass(frozen=True)
class Answer:
    text: str | None
    calls: list[tuple[str, str]]  # (name, JSON arguments)
    finish_reason: str
    completion_tokens: int


def answer(body: Mapping[str, Any]) -> Answer:
    messages = list(body.get("messages") or [])
    prompt = text_of(messages[-1].get("content")) if messages else ""
    tools = chosen_tools(body, prompt) if messages and messages[-1].get("role") != "tool" else []
    if tools:
        calls = [(_tool_name(t), arguments_for(t, prompt)) for t in tools]
        tokens = sum(count_tokens(f"{name} {args}") for name, args in calls)
        return Answer(None, calls, "tool_calls", tokens)
    text, finish = limit_reply(reply_text(body, messages), body)
    return Answer(text, [], finish, count_tokens(text))


def _chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> Chunk:
    chunk: Chunk = {"object": "chat.completion.chunk", "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def _deltas(result: Answer) -> list[dict[str, Any]]:
    if result.text is not None:
        return [{"content": piece} for piece in WORD.findall(result.text)]
    deltas = []
    for index, (name, args) in enumerate(result.calls):
        call_id = f"call_{secrets.token_hex(12)}"
        head = {"index": index, "id": call_id, "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
        half = len(args) // 2
        for part in (args[:half], args[half:]):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    return deltas


async def stream(body: Mapping[str, Any]) -> AsyncIterator[Chunk]:
    """The answer to a chat request, as `chat.completion.chunk`s ending with the usage."""
    result = answer(body)
    choices = range(int(body.get("n") or 1))
    yield _chunk([_choice(i, {"role": "assistant", "content": ""}) for i in choices])
    for delta in _deltas(result):
        yield _chunk([_choice(i, delta) for i in choices])
    yield _chunk([_choice(i, {}, result.finish_reason) for i in choices])
    usage = Usage(
        prompt_tokens=prompt_tokens(body.get("messages") or []),
        completion_tokens=result.completion_tokens * len(choices),
    )
    yield _chunk([], usage_payload(usage))
