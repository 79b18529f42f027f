"""How an Anthropic Messages stream becomes chat completion chunks, and what those chunks
collect into, on SSE payloads from Anthropic's API reference."""

# The SSE payloads below are verbatim from the API reference, one event per line.
# ruff: noqa: E501

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import UpstreamError, UpstreamUnavailable
from providers.anthropic import answers
from providers.sse import SSEDecoder
from tests.collected_chunks import collect

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
