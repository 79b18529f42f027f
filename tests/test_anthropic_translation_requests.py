"""How an OpenAI chat request becomes an Anthropic Messages request, and what Anthropic cannot
do is refused."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from providers.anthropic import request as ant

MODEL = "claude-sonnet-4-5"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather by city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ANTHROPIC_WEATHER = {
    "name": "get_weather",
    "description": "Weather by city",
    "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
}


def req(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [{"role": "user", "content": "Hi"}])
    return ant.to_upstream(body, MODEL, stream=False)


def test_plain_request_gets_a_default_max_tokens() -> None:
    assert req() == {
        "model": MODEL,
        "max_tokens": ant.DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert ant.to_upstream({"messages": []}, MODEL, stream=True)["stream"] is True


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_tokens": 100}, {"max_tokens": 100}),
        ({"max_completion_tokens": 200, "max_tokens": 100}, {"max_tokens": 200}),
        ({"stop": "END"}, {"stop_sequences": ["END"]}),
        ({"stop": ["a", "", "b"]}, {"stop_sequences": ["a", "b"]}),
        ({"temperature": 0.3, "top_p": 0.9}, {"temperature": 0.3, "top_p": 0.9}),
        ({"temperature": 1.7}, {"temperature": 1.0}),  # OpenAI's 0..2 clamped to Anthropic's 0..1
        ({"user": "u-42"}, {"metadata": {"user_id": "u-42"}}),
        ({"seed": 1, "presence_penalty": 0.5, "logprobs": False}, {}),  # dropped
    ],
)
def test_sampling_options(options: dict[str, Any], expected: dict[str, Any]) -> None:
    request = req(**options)
    for key, value in expected.items():
        assert request[key] == value
    assert not {"seed", "presence_penalty", "logprobs", "stop", "user"} & set(request)


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    request = req(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Salut", "refusal": None, "annotations": []},
            {"role": "user", "content": [{"type": "text", "text": "Encore"}]},
        ]
    )
    assert request["system"] == "Be brief.\n\nUse French."
    assert request["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "Encore"},
    ]


def test_images_by_url_and_base64() -> None:
    request = req(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
                    },
                ],
            }
        ]
    )
    assert request["messages"][0]["content"] == [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
    ]


def test_a_pdf_file_part_becomes_a_document() -> None:
    part = {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
    }
    [block] = req(messages=[{"role": "user", "content": [part]}])["messages"][0]["content"]
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (None, None, {"type": "auto"}),
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
    ],
)
def test_tools_and_tool_choice(
    choice: Any, parallel: bool | None, expected: dict[str, Any]
) -> None:
    request = req(tools=[WEATHER], tool_choice=choice, parallel_tool_calls=parallel)
    assert request["tools"] == [ANTHROPIC_WEATHER]
    assert request["tool_choice"] == expected


def test_a_tool_without_parameters_gets_an_empty_object_schema() -> None:
    request = req(tools=[{"type": "function", "function": {"name": "now"}}])
    assert request["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    ]


def test_assistant_tool_calls_and_tool_results_map_to_blocks() -> None:
    request = req(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call.2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {
                "role": "tool",
                "tool_call_id": "call.2",
                "content": [{"type": "text", "text": "25C"}],
            },
            {"role": "user", "content": "Thanks"},
        ]
    )
    assert request["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "25C"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]


def test_json_schema_becomes_a_forced_tool() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    request = req(
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
    )
    assert request["tools"] == [
        {
            "name": "reply",
            "input_schema": schema,
            "description": "Give the answer as this tool's input.",
        }
    ]
    assert request["tool_choice"] == {"type": "tool", "name": "reply"}


def test_json_schema_with_client_tools_becomes_an_instruction() -> None:
    schema = {"type": "object"}
    body = {
        "tools": [WEATHER],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    }
    request = req(**body)
    assert request["tools"] == [ANTHROPIC_WEATHER]
    assert "JSON Schema" in request["system"] and ant.json_tool_name(body) is None
    assert req(response_format={"type": "json_object"})["system"] == ant.JSON_INSTRUCTION


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget", "expected_max"),
    [
        ("low", None, 1024, ant.DEFAULT_MAX_TOKENS),
        ("medium", None, 4096, 4096 + ant.DEFAULT_MAX_TOKENS),
        ("high", 20000, 16384, 20000),
        ("high", 500, 16384, 16884),
    ],
)
def test_reasoning_effort_enables_thinking(
    effort: str, max_tokens: int | None, budget: int, expected_max: int
) -> None:
    request = req(reasoning_effort=effort, max_tokens=max_tokens, temperature=0.2)
    assert request["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert request["max_tokens"] == expected_max > budget
    assert "temperature" not in request  # Anthropic refuses it with thinking


def test_no_thinking_with_a_forced_tool_or_after_a_tool_result() -> None:
    assert "thinking" not in req(reasoning_effort="high", tools=[WEATHER], tool_choice="required")
    assert "thinking" not in req(reasoning_effort="none")
    messages = [
        {"role": "user", "content": "Hi"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "function": {"name": "get_weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "ok"},
    ]
    assert "thinking" not in req(reasoning_effort="high", tools=[WEATHER], messages=messages)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools"),
        ({"tools": [WEATHER], "tool_choice": {"type": "allowed_tools"}}, "tool_choice"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}
                ]
            },
            "messages",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png,xyz"}}
                        ],
                    }
                ]
            },
            "messages",
        ),
    ],
)
def test_what_anthropic_cannot_do_is_refused(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        req(**body)
    assert caught.value.param == param and caught.value.status == 400
