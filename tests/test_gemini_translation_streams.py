"""How a Gemini stream becomes chat completion chunks, and what those chunks collect into, on
a recorded gemini-2.5-flash stream and reference events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.gemini import answers
from tests.collected_chunks import collect
from tests.gemini_recorded_stream import RECORDED_STREAM


def run_stream(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    state = answers.StreamState()
    chunks = [c for e in events for c in answers.to_chunks(e, state)]
    return chunks + answers.final_chunks(state)


def test_recorded_stream() -> None:
    chunks = run_stream(RECORDED_STREAM)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas == [
        {"role": "assistant", "content": "Okay, let's create a Tetris game"},
        {"content": " in Python."},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]] == [
        None,
        None,
        "stop",
    ]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 4
    assert chunks[-1]["usage"]["completion_tokens"] == 97 + 2042
    assert chunks[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 2042}


def test_stream_of_function_calls_gives_whole_indexed_tool_call_deltas() -> None:
    events = [
        {"candidates": [{"content": {"parts": [{"text": "Let me check."}], "role": "model"}}]},
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "functionCall": {
                                    "name": "getWeather",
                                    "args": {"location": "Tokyo"},
                                },
                                "thoughtSignature": "CikBcsjafFK1",
                            }
                        ],
                    },
                    "index": 0,
                }
            ]
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": "getTime", "args": {}, "id": "t-1"}}],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": 83, "candidatesTokenCount": 14},
        },
    ]
    chunks = run_stream(events)
    calls = [
        call
        for c in chunks
        for choice in c["choices"]
        for call in choice["delta"].get("tool_calls") or []
    ]
    assert [(c["index"], c["function"]["name"]) for c in calls] == [
        (0, "getWeather"),
        (1, "getTime"),
    ]
    assert calls[0]["id"].startswith("call_") and calls[1]["id"] == "t-1"
    assert all(c["type"] == "function" for c in calls)
    assert json.loads(calls[0]["function"]["arguments"]) == {"location": "Tokyo"}
    completion = collect(chunks)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check."
    assert len(choice["message"]["tool_calls"]) == 2


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
        ("LANGUAGE", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
    ],
)
def test_stream_finish_reasons(reason: str, expected: str) -> None:
    event = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
    chunks = run_stream([event])
    assert chunks[-1]["choices"][0]["finish_reason"] == expected


def test_stream_with_thoughts_gives_reasoning_content() -> None:
    events = [
        {"candidates": [{"content": {"parts": [{"text": "Thinking...", "thought": True}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "Answer"}]}, "finishReason": "STOP"}]},
    ]
    message = collect(run_stream(events))["choices"][0]["message"]
    assert message["reasoning_content"] == "Thinking..."
    assert message["content"] == "Answer"


def test_stream_of_a_blocked_prompt() -> None:
    event = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
    }
    chunks = run_stream([event])
    assert chunks[0]["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "logprobs": None,
        "finish_reason": "content_filter",
    }
    assert chunks[-1]["usage"]["prompt_tokens"] == 5


def test_stream_with_two_candidates() -> None:
    event = {
        "candidates": [
            {"content": {"parts": [{"text": "A"}]}, "finishReason": "STOP", "index": 0},
            {"content": {"parts": [{"text": "B"}]}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    choices = collect(run_stream([event]))["choices"]
    assert [(c["message"]["content"], c["finish_reason"]) for c in choices] == [
        ("A", "stop"),
        ("B", "length"),
    ]
