"""How a Responses request becomes a chat request: its fields, tools, input items and content
parts, and what chat cannot express is refused."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from usecases.responses_translation import chat_messages, chat_request, input_items


def test_string_input_is_one_user_message() -> None:
    items = input_items({"input": "Hi"})
    assert items == [{"type": "message", "role": "user", "content": "Hi"}]
    assert chat_messages(items) == [{"role": "user", "content": "Hi"}]


def test_request_fields_map_to_their_chat_equivalents() -> None:
    request = {
        "model": "openai/gpt-5-mini",
        "input": "Hi",
        "instructions": "Be brief.",
        "max_output_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "parallel_tool_calls": False,
        "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "metadata": {"a": "b"},
        "store": False,
        "user": "u1",
    }
    body = chat_request(request, input_items(request))
    assert body == {
        "model": "openai/gpt-5-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "max_completion_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "parallel_tool_calls": False,
        "reasoning_effort": "high",
        "response_format": {"type": "json_object"},
        "verbosity": "low",
        "user": "u1",
    }


def test_json_schema_format_becomes_a_chat_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    text = {"format": {"type": "json_schema", "name": "A", "schema": schema, "strict": True}}
    body = chat_request({"model": "m", "text": text}, [])
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "A", "schema": schema, "strict": True},
    }
    assert "response_format" not in chat_request({"model": "m", "text": {"format": None}}, [])


def test_function_tools_and_tool_choices_take_the_chat_shape() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": None}
    request = {
        "model": "m",
        "tools": [tool],
        "tool_choice": {"type": "function", "name": "f"},
    }
    body = chat_request(request, [])
    assert body["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    allowed = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "f"}],
    }
    assert chat_request({"model": "m", "tool_choice": allowed}, [])["tool_choice"] == {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
    }


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ],
)
def test_what_chat_cannot_express_is_refused(request_: dict, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request({"model": "m", **request_}, [])
    assert caught.value.param == param
    assert caught.value.code == "unsupported_parameter"


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_file", "file_url": "https://example.com/a.pdf"},
        {"type": "input_file", "filename": "a.pdf"},
    ],
    ids=["by URL", "without data or id"],
)
def test_a_file_without_its_data_or_an_id_is_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_messages([{"role": "user", "content": [part]}])
    assert caught.value.code == "unsupported_parameter"
    assert "`file_data` or `file_id`" in caught.value.message


def test_content_parts_become_chat_parts() -> None:
    items = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                {
                    "type": "input_file",
                    "filename": "a.pdf",
                    "file_data": "data:application/pdf;base64,AA",
                },
                {"type": "input_file", "file_id": "file-1"},
            ],
        },
        {"role": "system", "content": [{"type": "input_text", "text": "sys"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ok", "annotations": []}],
        },
    ]
    assert chat_messages(items) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {
                    "type": "file",
                    "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AA"},
                },
                {"type": "file", "file": {"file_id": "file-1"}},
            ],
        },
        {"role": "system", "content": "sys"},
        {"role": "assistant", "content": "ok"},
    ]


def test_image_by_file_id_is_refused_naming_the_part() -> None:
    items = [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]
    with pytest.raises(InvalidRequest) as caught:
        chat_messages(items)
    assert caught.value.param == "input[0].content[0]"


def test_function_calls_join_the_assistant_turn_and_outputs_become_tool_messages() -> None:
    items = [
        {"role": "user", "content": "weather and time?"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Sure."}],
        },
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "noon"}],
        },
    ]
    assert chat_messages(items) == [
        {"role": "user", "content": "weather and time?"},
        {
            "role": "assistant",
            "content": "Sure.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                },
                {"id": "c2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "noon"},
    ]
