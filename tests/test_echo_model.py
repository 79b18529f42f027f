"""`writingmate/echo`: the built-in offline model. It echoes, calls tools, honours limits, and
reports exact usage (tokens are words and punctuation marks: `\\w+|[^\\w\\s]`)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import ModelEntry
from providers.echo.model import Echo

MODEL = ModelEntry(
    slug="writingmate/echo",
    provider="writingmate",
    upstream_id="echo",
    created=1767225600,
    owned_by="writingmate",
)
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


def tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def stream(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [chunk async for chunk in Echo("writingmate").stream_chat(body, MODEL)]


def content_of(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in chunks
        for choice in chunk["choices"]
        if choice["index"] == index
    )


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


def finish_of(chunks: list[dict[str, Any]], index: int = 0) -> str | None:
    reasons = [
        choice["finish_reason"]
        for chunk in chunks
        for choice in chunk["choices"]
        if choice["index"] == index and choice["finish_reason"]
    ]
    assert len(reasons) == 1
    return reasons[0]


def usage_of(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return chunks[-1]["usage"]


# --- text ---------------------------------------------------------------------------------


async def test_echoes_the_last_user_message():
    chunks = await stream(
        {
            "messages": [
                {"role": "system", "content": "Be terse."},
                user("first question"),
                {"role": "assistant", "content": "first answer"},
                user("Hello, world! How are you?"),
            ]
        }
    )
    assert content_of(chunks) == "Hello, world! How are you?"
    assert finish_of(chunks) == "stop"


async def test_text_arrives_in_several_chunks():
    chunks = await stream({"messages": [user("one two three four")]})
    pieces = [
        c["choices"][0]["delta"]["content"]
        for c in chunks[1:]
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert len(pieces) == 4
    assert "".join(pieces) == "one two three four"


async def test_stream_shape_role_first_then_content_finish_and_usage_last():
    chunks = await stream({"messages": [user("Hi there")]})
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert chunks[-2]["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert chunks[-1]["choices"] == []
    assert "usage" not in chunks[0] and "usage" not in chunks[-2]
    for middle in chunks[1:-2]:
        assert middle["choices"][0]["finish_reason"] is None


async def test_usage_counts_words_and_punctuation_exactly():
    messages = [
        {"role": "system", "content": "You are helpful."},
        user("What's 2+2?"),
        {"role": "assistant", "content": "4."},
        user("Thanks, and 3+3?"),
    ]
    chunks = await stream({"messages": messages})
    prompt = (
        tokens("You are helpful.")
        + tokens("What's 2+2?")
        + tokens("4.")
        + tokens("Thanks, and 3+3?")
    )
    completion = tokens("Thanks, and 3+3?")
    assert (prompt, completion) == (20, 7)
    assert usage_of(chunks) == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


async def test_content_parts_are_read_as_text():
    chunks = await stream(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe"},
                        {"type": "text", "text": "this."},
                    ],
                }
            ]
        }
    )
    assert content_of(chunks) == "Describe this."
    assert usage_of(chunks)["prompt_tokens"] == 3


async def test_an_empty_message_gets_a_placeholder_answer():
    chunks = await stream({"messages": [user("")]})
    assert content_of(chunks) == "(empty message)"


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1).filter(lambda t: not t[0].isspace()))
async def test_echo_and_usage_for_any_text(text):
    chunks = await stream({"messages": [user(text)]})
    assert content_of(chunks) == text
    assert usage_of(chunks)["prompt_tokens"] == tokens(text)
    assert usage_of(chunks)["completion_tokens"] == tokens(text)


async def test_echo_keeps_leading_whitespace():
    chunks = await stream({"messages": [user("  indented code")]})
    assert content_of(chunks) == "  indented code"


async def test_same_request_gives_the_same_text_and_usage():
    body = {"messages": [user("Deterministic, please: 1, 2, 3.")], "max_tokens": 5}
    first, second = await stream(body), await stream(body)
    assert content_of(first) == content_of(second)
    assert usage_of(first) == usage_of(second)
    assert first == second


# --- limits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "text", "finish", "completion"),
    [
        pytest.param({"max_tokens": 3}, "one two three", "length", 3, id="max_tokens"),
        pytest.param(
            {"max_completion_tokens": 2}, "one two", "length", 2, id="max_completion_tokens"
        ),
        pytest.param(
            {"max_completion_tokens": 4, "max_tokens": 1},
            "one two three four",
            "length",
            4,
            id="max_completion_tokens wins over max_tokens",
        ),
        pytest.param({"max_tokens": 1}, "one", "length", 1, id="a limit of one"),
        pytest.param(
            {"max_tokens": 5},
            "one two three four five",
            "stop",
            5,
            id="exactly at the limit is not truncated",
        ),
        pytest.param(
            {"max_tokens": 100}, "one two three four five", "stop", 5, id="under the limit"
        ),
    ],
)
async def test_token_limit_truncates_with_finish_reason_length(limits, text, finish, completion):
    chunks = await stream({"messages": [user("one two three four five")], **limits})
    assert content_of(chunks) == text
    assert finish_of(chunks) == finish
    assert usage_of(chunks)["completion_tokens"] == completion


async def test_token_limit_counts_punctuation_as_tokens():
    chunks = await stream({"messages": [user("Hi, there! Bye.")], "max_tokens": 2})
    assert content_of(chunks) == "Hi,"
    assert finish_of(chunks) == "length"


@pytest.mark.parametrize(
    ("stop", "text"),
    [
        pytest.param(".", "Hello world", id="string"),
        pytest.param(["Bye", "world"], "Hello ", id="list: earliest stop wins"),
        pytest.param(["zzz"], "Hello world. Bye", id="absent stop changes nothing"),
        pytest.param(None, "Hello world. Bye", id="null"),
    ],
)
async def test_stop_sequences_cut_the_text(stop, text):
    chunks = await stream({"messages": [user("Hello world. Bye")], "stop": stop})
    assert content_of(chunks) == text
    assert finish_of(chunks) == "stop"
    assert usage_of(chunks)["completion_tokens"] == tokens(text)


@pytest.mark.parametrize("kind", ["json_object", "json_schema"])
async def test_json_response_format_gives_valid_json(kind):
    chunks = await stream(
        {"messages": [user('Say "hi"\nplease')], "response_format": {"type": kind}}
    )
    assert json.loads(content_of(chunks)) == {"echo": 'Say "hi"\nplease'}


async def test_n_two_gives_two_identical_choices():
    chunks = await stream({"messages": [user("Two answers, please")], "n": 2})
    assert chunks[0]["choices"] == [
        {
            "index": i,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
        for i in (0, 1)
    ]
    for chunk in chunks[:-1]:
        assert [c["index"] for c in chunk["choices"]] == [0, 1]
    assert content_of(chunks, 0) == content_of(chunks, 1) == "Two answers, please"
    assert finish_of(chunks, 0) == finish_of(chunks, 1) == "stop"
    usage = usage_of(chunks)
    assert usage["prompt_tokens"] == 4
    assert usage["completion_tokens"] == 2 * 4


# --- tools ---------------------------------------------------------------------------------


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
