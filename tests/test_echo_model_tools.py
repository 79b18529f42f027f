"""`writingmate/echo` calls tools: when the prompt names them or `tool_choice` asks, with JSON
arguments from the prompt or filled in, in parallel unless told not to, and it answers a tool's
result with that result."""

from __future__ import annotations

import json
from typing import Any

from tests.echo_model_helpers import content_of, finish_of, stream, tokens, usage_of, user

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "detailed": {"type": "boolean"},
            },
            "required": ["city", "days", "unit", "detailed"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


def tool_deltas(chunks: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [
        call
        for chunk in chunks
        for choice in chunk["choices"]
        if choice["index"] == index
        for call in choice["delta"].get("tool_calls") or []
    ]


def assembled_calls(chunks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    calls: dict[int, dict[str, str]] = {}
    for delta in tool_deltas(chunks):
        call = calls.setdefault(delta["index"], {"name": "", "arguments": ""})
        call["name"] += delta["function"].get("name", "")
        call["arguments"] += delta["function"].get("arguments", "")
    return [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())]


async def test_naming_a_tool_calls_it_with_json_arguments_from_the_prompt():
    prompt = 'Please use get_weather with {"city": "Paris", "days": 3}'
    chunks = await stream({"messages": [user(prompt)], "tools": [WEATHER, TIME]})
    assert assembled_calls(chunks) == [("get_weather", {"city": "Paris", "days": 3})]
    assert finish_of(chunks) == "tool_calls"
    assert content_of(chunks) == ""


async def test_tool_call_deltas_carry_index_id_and_name_on_the_first():
    chunks = await stream({"messages": [user("get_weather please")], "tools": [WEATHER]})
    first, *rest = tool_deltas(chunks)
    assert first["index"] == 0
    assert isinstance(first["id"], str) and first["id"].startswith("call_")
    assert first["type"] == "function"
    assert first["function"]["name"] == "get_weather"
    assert len(rest) >= 1
    for later in rest:
        assert set(later) == {"index", "function"}
        assert later["index"] == 0
        assert set(later["function"]) == {"arguments"}


async def test_required_parameters_are_filled_when_the_prompt_has_no_json():
    prompt = "what does get_weather say"
    chunks = await stream({"messages": [user(prompt)], "tools": [WEATHER]})
    assert assembled_calls(chunks) == [
        ("get_weather", {"city": prompt, "days": 0, "unit": "celsius", "detailed": False})
    ]


async def test_without_required_list_the_first_parameter_is_filled():
    chunks = await stream({"messages": [user("get_time now")], "tools": [TIME]})
    assert assembled_calls(chunks) == [("get_time", {"tz": "get_time now"})]


async def test_invalid_json_in_the_prompt_falls_back_to_filled_parameters():
    prompt = "get_time {not json}"
    chunks = await stream({"messages": [user(prompt)], "tools": [TIME]})
    assert assembled_calls(chunks) == [("get_time", {"tz": prompt})]


async def test_tool_call_usage_counts_name_and_arguments():
    prompt = 'get_weather {"city": "Paris"}'
    chunks = await stream({"messages": [user(prompt)], "tools": [WEATHER]})
    arguments = "".join(d["function"].get("arguments", "") for d in tool_deltas(chunks))
    assert usage_of(chunks)["completion_tokens"] == tokens(f"get_weather {arguments}")
    assert usage_of(chunks)["prompt_tokens"] == tokens(prompt)


async def test_tools_are_not_called_unless_named_or_required():
    chunks = await stream({"messages": [user("what's the weather?")], "tools": [WEATHER]})
    assert tool_deltas(chunks) == []
    assert content_of(chunks) == "what's the weather?"
    assert finish_of(chunks) == "stop"


async def test_a_tool_name_inside_a_longer_word_is_not_a_mention():
    chunks = await stream({"messages": [user("call get_weathers")], "tools": [WEATHER]})
    assert tool_deltas(chunks) == []


async def test_tool_choice_required_forces_a_call():
    chunks = await stream(
        {"messages": [user("hello")], "tools": [TIME, WEATHER], "tool_choice": "required"}
    )
    assert [name for name, _ in assembled_calls(chunks)] == ["get_time"]
    assert finish_of(chunks) == "tool_calls"


async def test_tool_choice_none_prevents_a_call():
    chunks = await stream(
        {"messages": [user("use get_weather")], "tools": [WEATHER], "tool_choice": "none"}
    )
    assert tool_deltas(chunks) == []
    assert content_of(chunks) == "use get_weather"


async def test_named_tool_choice_selects_that_tool():
    chunks = await stream(
        {
            "messages": [user("use get_weather")],
            "tools": [WEATHER, TIME],
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        }
    )
    assert [name for name, _ in assembled_calls(chunks)] == ["get_time"]


async def test_two_named_tools_are_called_in_parallel():
    chunks = await stream(
        {"messages": [user("get_time and get_weather")], "tools": [WEATHER, TIME]}
    )
    heads = [d for d in tool_deltas(chunks) if "id" in d]
    assert [(h["index"], h["function"]["name"]) for h in heads] == [
        (0, "get_weather"),
        (1, "get_time"),
    ]
    assert heads[0]["id"] != heads[1]["id"]
    assert [name for name, _ in assembled_calls(chunks)] == ["get_weather", "get_time"]
    assert finish_of(chunks) == "tool_calls"


async def test_parallel_tool_calls_false_calls_only_one():
    chunks = await stream(
        {
            "messages": [user("get_time and get_weather")],
            "tools": [WEATHER, TIME],
            "parallel_tool_calls": False,
        }
    )
    assert [name for name, _ in assembled_calls(chunks)] == ["get_weather"]


async def test_after_a_tool_result_it_answers_with_the_result():
    messages = [
        user("get_weather in Paris"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
    ]
    chunks = await stream({"messages": messages, "tools": [WEATHER]})
    assert tool_deltas(chunks) == []
    assert content_of(chunks) == "Tool result: 18C and sunny"
    assert finish_of(chunks) == "stop"
    prompt = (
        tokens("get_weather in Paris")
        + tokens('get_weather {"city": "Paris"}')
        + tokens("18C and sunny")
    )
    assert usage_of(chunks)["prompt_tokens"] == prompt
    assert usage_of(chunks)["completion_tokens"] == tokens("Tool result: 18C and sunny")


async def test_n_two_tool_calls_are_in_both_choices():
    chunks = await stream({"messages": [user("get_time")], "tools": [TIME], "n": 2})
    assert [d["function"]["name"] for d in tool_deltas(chunks, 1) if "id" in d] == ["get_time"]
    assert finish_of(chunks, 1) == "tool_calls"
