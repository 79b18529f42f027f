"""The Anthropic translators are pure functions on plain data: tables of OpenAI requests and
Messages payloads (shaped as in Anthropic's API reference)."""

# The SSE payloads below are verbatim from the API reference, one event per line.
# ruff: noqa: E501

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import (
    InvalidRequest,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from providers.anthropic import answers
from providers.anthropic import request as ant
from providers.chunks import Collector, ToolCallRepair, repair_choice
from providers.http.upstream import status_error
from providers.sse import SSEDecoder

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


# ---- request ---------------------------------------------------------------------------------


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


# ---- non-streamed response -------------------------------------------------------------------

REFERENCE_MESSAGE = {  # from Anthropic's API reference
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The user wants…", "signature": "EqQBCgIYAhIM…"},
        {"type": "text", "text": "Let me check."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 472,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 89,
        "service_tier": "standard",
    },
}


def test_reference_message_becomes_a_completion() -> None:
    completion = answers.to_completion(REFERENCE_MESSAGE)
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Let me check.",
        "refusal": None,
        "reasoning_content": "The user wants…",
        "tool_calls": [
            {
                "id": "toolu_01A09q90qw90lq917835lq9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert completion["usage"] == {
        "prompt_tokens": 1496,
        "completion_tokens": 89,
        "total_tokens": 1585,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }


def test_json_tool_answer_becomes_the_content() -> None:
    message = {
        **REFERENCE_MESSAGE,
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "reply", "input": {"a": 1}}],
    }
    [choice] = answers.to_completion(message, json_tool="reply")["choices"]
    assert choice["message"]["content"] == '{"a": 1}'
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons(stop_reason: str, finish: str) -> None:
    assert answers.finish_reason(stop_reason) == finish


def test_usage_with_cache_writes_and_thinking_tokens() -> None:
    raw = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 300,
        "output_tokens": 50,
        "output_tokens_details": {"thinking_tokens": 20},
    }
    assert answers.usage(raw) == {
        "prompt_tokens": 510,
        "completion_tokens": 50,
        "total_tokens": 560,
        "prompt_tokens_details": {"cached_tokens": 300},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }


# ---- stream ----------------------------------------------------------------------------------

REFERENCE_STREAM = """\
event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}}

event: ping
data: {"type":"ping"}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Par"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"""

THINKING_EVENTS = """\
event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I need the weather…"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h…"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

"""


def translate(text: str, json_tool: str | None = None) -> list[dict[str, Any]]:
    translator = answers.StreamTranslator(json_tool=json_tool)
    decoder = SSEDecoder()
    chunks = []
    for event in [*decoder.feed(text), *decoder.flush()]:
        chunks.extend(translator.feed(event.event, json.loads(event.data)))
    return chunks + translator.finish()


def collect(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    collector, tools = Collector(), ToolCallRepair()
    for chunk in chunks:
        collector.add({**chunk, "choices": [repair_choice(c, tools) for c in chunk["choices"]]})
    return collector.completion(id="x", created=0, model="m")


def test_reference_stream_translates_to_openai_chunks() -> None:
    deltas = [
        (c["choices"][0]["delta"], c["choices"][0]["finish_reason"])
        for c in translate(REFERENCE_STREAM)[:-1]
    ]
    assert deltas == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Let me check"}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Par'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": 'is"}'}}]}, None),
        ({}, "tool_calls"),
    ]


def test_one_usage_chunk_comes_last() -> None:
    chunks = translate(REFERENCE_STREAM)
    assert [c for c in chunks if "usage" in c] == [chunks[-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 472
    assert chunks[-1]["usage"]["completion_tokens"] == 89


def test_reference_stream_collects_like_the_non_streamed_answer() -> None:
    [choice] = collect(translate(REFERENCE_STREAM))["choices"]
    assert choice["message"]["content"] == "Let me check"
    [call] = choice["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert choice["finish_reason"] == "tool_calls"


def test_thinking_deltas_become_reasoning_content() -> None:
    chunks = translate(THINKING_EVENTS)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"reasoning_content": "I need the weather…"}
    ]


def _event(name: str, **data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def test_parallel_tool_calls_get_ordinals_not_block_indexes() -> None:
    text = "".join(
        [
            _event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
            _event("content_block_stop", index=0),
            _event(
                "content_block_start",
                index=1,
                content_block={"type": "tool_use", "id": "toolu_a", "name": "a", "input": {}},
            ),
            _event(
                "content_block_start",
                index=2,
                content_block={"type": "tool_use", "id": "toolu_b", "name": "b", "input": {}},
            ),
            _event(
                "content_block_delta",
                index=2,
                delta={"type": "input_json_delta", "partial_json": '{"x":1}'},
            ),
            _event("content_block_stop", index=1),
            _event("content_block_stop", index=2),
        ]
    )
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in translate(text)]
    assert [(c["index"], c.get("id"), c["function"]["arguments"]) for c in calls] == [
        (0, "toolu_a", ""),
        (1, "toolu_b", ""),
        (1, None, '{"x":1}'),
        (0, None, "{}"),  # a call with no input still gets JSON arguments
    ]


def test_json_tool_stream_becomes_content() -> None:
    text = "".join(
        [
            _event(
                "content_block_start",
                index=0,
                content_block={"type": "tool_use", "id": "t", "name": "reply", "input": {}},
            ),
            _event(
                "content_block_delta",
                index=0,
                delta={"type": "input_json_delta", "partial_json": '{"a":'},
            ),
            _event(
                "content_block_delta",
                index=0,
                delta={"type": "input_json_delta", "partial_json": "1}"},
            ),
            _event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 5}),
        ]
    )
    chunks = translate(text, json_tool="reply")
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"content": '{"a":'},
        {"content": "1}"},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_streamed_usage_is_cumulative_and_counts_cache() -> None:
    text = (
        _event(
            "message_start",
            message={
                "usage": {
                    "input_tokens": 5,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20,
                    "output_tokens": 1,
                }
            },
        )
        + _event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 42})
        + _event("message_stop")
    )
    usage = translate(text)[-1]["usage"]
    assert usage == {
        "prompt_tokens": 125,
        "completion_tokens": 42,
        "total_tokens": 167,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


@pytest.mark.parametrize(
    ("kind", "error"),
    [("overloaded_error", UpstreamUnavailable), ("api_error", UpstreamError)],
)
def test_an_error_event_raises(kind: str, error: type) -> None:
    text = _event("error", error={"type": kind, "message": "Overloaded"})
    with pytest.raises(error) as caught:
        translate(text)
    assert "Overloaded" in caught.value.message


# ---- HTTP errors -----------------------------------------------------------------------------


def _body(kind: str, message: str) -> bytes:
    return json.dumps(
        {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "kind", "headers", "error", "our_status"),
    [
        (400, "invalid_request_error", {}, InvalidRequest, 400),
        (401, "authentication_error", {}, UpstreamError, 502),
        (429, "rate_limit_error", {"retry-after": "7"}, RateLimited, 429),
        (500, "api_error", {}, UpstreamError, 502),
        (529, "overloaded_error", {}, UpstreamUnavailable, 503),
    ],
)
def test_http_errors_map_to_our_tree(
    status: int, kind: str, headers: dict[str, str], error: type, our_status: int
) -> None:
    mapped = status_error(status, headers, _body(kind, "Boom: details"), answers.read_error)
    assert type(mapped) is error and mapped.status == our_status
    assert "Boom: details" in mapped.message
    if status == 429:
        assert mapped.headers == {"retry-after": "7", "retry-after-ms": "7000"}
    if status == 400:
        assert mapped.message == "Boom: details" and mapped.code is None
