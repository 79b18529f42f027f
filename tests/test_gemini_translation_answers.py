"""How a non-streamed Gemini answer becomes a chat completion: content, finish reasons,
reasoning and usage, on a recorded gemini-2.5-flash response and reference payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.gemini import answers

# Recorded gemini-2.5-flash function call (louter fixture).
RECORDED_CALL = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {"name": "getWeather", "args": {"location": "Tokyo"}},
                        "thoughtSignature": "CikBcsjafFK1",
                    }
                ],
            },
            "finishReason": "STOP",
            "index": 0,
            "finishMessage": "Model generated function call(s).",
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 83,
        "candidatesTokenCount": 14,
        "totalTokenCount": 201,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 83}],
        "thoughtsTokenCount": 104,
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "qpc2afWVFJK4vr0Pq6WiyAU",
}


def test_recorded_function_call_response() -> None:
    completion = answers.to_completion(RECORDED_CALL)
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "getWeather"
    assert json.loads(call["function"]["arguments"]) == {"location": "Tokyo"}
    assert completion["usage"] == {
        "prompt_tokens": 83,
        "completion_tokens": 118,
        "total_tokens": 201,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 104},
    }


RESPONSES: list[tuple[str, dict[str, Any], str | None, str, str | None]] = [
    # name, response, content, finish_reason, reasoning
    (
        "text with thought summary",
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "User greets.", "thought": True},
                            {"text": "Hello"},
                            {"text": " there"},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ]
        },
        "Hello there",
        "stop",
        "User greets.",
    ),
    (
        "max tokens",
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}, "finishReason": "MAX_TOKENS"}]},
        "Hel",
        "length",
        None,
    ),
    (
        "safety",
        {"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY", "index": 0}]},
        "",
        "content_filter",
        None,
    ),
    (
        "recitation",
        {"candidates": [{"finishReason": "RECITATION", "index": 0}]},
        "",
        "content_filter",
        None,
    ),
    (
        "malformed function call",
        {"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL", "index": 0}]},
        "",
        "stop",
        None,
    ),
    (
        "blocked prompt",
        {
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        },
        "",
        "content_filter",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "response", "content", "finish", "reasoning"), RESPONSES, ids=[r[0] for r in RESPONSES]
)
def test_response_translation(
    name: str, response: dict[str, Any], content: str | None, finish: str, reasoning: str | None
) -> None:
    [choice] = answers.to_completion(response)["choices"]
    assert choice["message"]["content"] == content
    assert choice["finish_reason"] == finish
    assert choice["message"].get("reasoning_content") == reasoning


USAGE: list[tuple[dict[str, Any], tuple[int, int, int, int]]] = [
    # usageMetadata -> (prompt, completion, cached, reasoning)
    (
        {"promptTokenCount": 4, "candidatesTokenCount": 97, "thoughtsTokenCount": 2042},
        (4, 2139, 0, 2042),
    ),
    (
        {
            "promptTokenCount": 19000,
            "cachedContentTokenCount": 4000,
            "candidatesTokenCount": 3000,
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 4000}],
        },
        (19000, 3000, 4000, 0),
    ),
    ({"promptTokenCount": 10, "toolUsePromptTokenCount": 5}, (15, 0, 0, 0)),
]


@pytest.mark.parametrize(("metadata", "expected"), USAGE)
def test_usage(metadata: dict[str, Any], expected: tuple[int, int, int, int]) -> None:
    usage = answers.usage(metadata)
    assert usage is not None
    got = (
        usage["prompt_tokens"],
        usage["completion_tokens"],
        usage["prompt_tokens_details"]["cached_tokens"],
        usage["completion_tokens_details"]["reasoning_tokens"],
    )
    assert got == expected
    assert usage["total_tokens"] == expected[0] + expected[1]
