"""The pure Gemini translators, on tables of payloads from the Gemini API reference and from
recorded gemini-2.5-flash responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import InvalidRequest, UpstreamError
from providers.chunks import Collector, ToolCallRepair, repair_choice
from providers.gemini import answers, errors
from providers.gemini import request as gemini
from providers.http.upstream import status_error

PNG = "iVBORw0KGgo="
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather by city",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}

# ---- request ---------------------------------------------------------------------------------

REQUESTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "plain user text",
        {"messages": [{"role": "user", "content": "Hello"}]},
        {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]},
    ),
    (
        "system and developer become systemInstruction",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
                {"role": "user", "content": "Bye"},
            ]
        },
        {
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "No emoji."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello!"}]},
                {"role": "user", "parts": [{"text": "Bye"}]},
            ],
        },
    ),
    (
        "data URL image becomes inlineData",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Weather in Paris?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    ],
                }
            ]
        },
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Weather in Paris?"},
                        {"inlineData": {"mimeType": "image/png", "data": PNG}},
                    ],
                }
            ]
        },
    ),
    (
        "Files API URI becomes fileData",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "https://generativelanguage.googleapis.com/v1beta/files/abc"
                            },
                        }
                    ],
                }
            ]
        },
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {
                            "fileData": {
                                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"
                            }
                        }
                    ],
                }
            ]
        },
    ),
    (
        "tool round trip: functionCall, then functionResponse named after the call",
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": ""},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18}'},
                {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
            ],
            "tools": [WEATHER_TOOL],
        },
        {
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                        {"functionCall": {"name": "get_time", "args": {}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                        {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
                    ],
                },
            ],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "description": "Weather by city",
                            "parametersJsonSchema": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "required": ["city"],
                                "additionalProperties": False,
                            },
                        }
                    ]
                }
            ],
        },
    ),
    (
        "generation settings",
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "max_completion_tokens": 1024,
            "max_tokens": 5,
            "temperature": 0.7,
            "top_p": 0.9,
            "stop": "END",
            "n": 2,
            "seed": 7,
            "presence_penalty": 0.5,
            "frequency_penalty": 0.25,
            "stream_options": {"include_usage": True},
            "parallel_tool_calls": True,
            "user": "u1",
        },
        {
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "generationConfig": {
                "maxOutputTokens": 1024,
                "temperature": 0.7,
                "topP": 0.9,
                "stopSequences": ["END"],
                "candidateCount": 2,
                "seed": 7,
                "presencePenalty": 0.5,
                "frequencyPenalty": 0.25,
            },
        },
    ),
    (
        "json_schema and reasoning effort",
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"a": {"type": "integer"}},
                        "required": ["a"],
                        "additionalProperties": False,
                    },
                },
            },
            "reasoning_effort": "low",
        },
        {
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "required": ["a"],
                    "additionalProperties": False,
                },
                "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
            },
        },
    ),
    (
        "json_object and thinking off",
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {"type": "json_object"},
            "reasoning_effort": "none",
        },
        {
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "thinkingConfig": {"thinkingBudget": 0, "includeThoughts": False},
            },
        },
    ),
]


@pytest.mark.parametrize(("name", "body", "expected"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_request_translation(name: str, body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert gemini.to_upstream(body) == expected


TOOL_CHOICES: list[tuple[Any, dict[str, Any] | None, list[str]]] = [
    ("auto", None, ["get_weather", "get_time"]),
    ("none", {"mode": "NONE"}, ["get_weather", "get_time"]),
    ("required", {"mode": "ANY"}, ["get_weather", "get_time"]),
    (
        {"type": "function", "function": {"name": "get_time"}},
        {"mode": "ANY", "allowedFunctionNames": ["get_time"]},
        ["get_weather", "get_time"],
    ),
    (
        {
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "required",
                "tools": [{"type": "function", "function": {"name": "get_time"}}],
            },
        },
        {"mode": "ANY"},
        ["get_time"],
    ),
]


@pytest.mark.parametrize(("choice", "config", "declared"), TOOL_CHOICES)
def test_tool_choice(choice: Any, config: dict[str, Any] | None, declared: list[str]) -> None:
    time_tool = {"type": "function", "function": {"name": "get_time"}}
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [WEATHER_TOOL, time_tool],
        "tool_choice": choice,
    }
    request = gemini.to_upstream(body)
    assert [d["name"] for d in request["tools"][0]["functionDeclarations"]] == declared
    assert request.get("toolConfig", {}).get("functionCallingConfig") == config
    assert "parametersJsonSchema" not in request["tools"][0]["functionDeclarations"][-1]


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "http image URL",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                }
            ]
        },
        "messages[0].content[0].image_url.url",
    ),
    (
        "tool result for an unknown call",
        {"messages": [{"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
        "messages[0].tool_call_id",
    ),
    (
        "arguments that are not JSON",
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}
                    ],
                }
            ]
        },
        "messages[0].tool_calls[0].function.arguments",
    ),
    (
        "custom tools",
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"type": "custom", "custom": {"name": "x"}}],
        },
        "tools[0].type",
    ),
    (
        "legacy functions",
        {"messages": [{"role": "user", "content": "Hi"}], "functions": [{"name": "f"}]},
        "functions",
    ),
    (
        "audio output",
        {"messages": [{"role": "user", "content": "Hi"}], "modalities": ["text", "audio"]},
        "modalities",
    ),
]


@pytest.mark.parametrize(("name", "body", "param"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_requests_are_400s_naming_the_param(
    name: str, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        gemini.to_upstream(body)
    assert caught.value.status == 400 and caught.value.param == param


# ---- non-streamed response -------------------------------------------------------------------

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


# ---- stream ----------------------------------------------------------------------------------

# Recorded gemini-2.5-flash stream (louter fixture).
RECORDED_STREAM = [
    {
        "candidates": [
            {
                "content": {
                    "parts": [{"text": "Okay, let's create a Tetris game"}],
                    "role": "model",
                },
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 49,
            "totalTokenCount": 2095,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4}],
            "thoughtsTokenCount": 2042,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "IZI2acSKMoWl0-kPmYj2yQc",
    },
    {
        "candidates": [
            {
                "content": {"parts": [{"text": " in Python."}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 97,
            "totalTokenCount": 2143,
            "thoughtsTokenCount": 2042,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "IZI2acSKMoWl0-kPmYj2yQc",
    },
]


def run_stream(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    state = answers.StreamState()
    chunks = [c for e in events for c in answers.to_chunks(e, state)]
    return chunks + answers.final_chunks(state)


def collect(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What the gateway makes of the chunks (repair, then collect)."""
    collector, tools = Collector(), ToolCallRepair()
    for chunk in chunks:
        collector.add({**chunk, "choices": [repair_choice(c, tools) for c in chunk["choices"]]})
    return collector.completion(id="x", created=0, model="m")


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


# ---- errors ----------------------------------------------------------------------------------


def envelope(code: int, status: str, message: str = "m", details: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "body", "our_status", "code"),
    [
        (400, envelope(400, "INVALID_ARGUMENT"), 400, "invalid_argument"),
        (
            429,
            envelope(
                429,
                "RESOURCE_EXHAUSTED",
                details=[
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
                ],
            ),
            429,
            "rate_limit_exceeded",
        ),
        (503, envelope(503, "UNAVAILABLE"), 503, "upstream_unavailable"),
        (500, envelope(500, "INTERNAL"), 502, "upstream_error"),
        (504, envelope(504, "DEADLINE_EXCEEDED"), 504, "upstream_timeout"),
        (404, envelope(404, "NOT_FOUND"), 502, "upstream_error"),
        (403, envelope(403, "PERMISSION_DENIED"), 502, "upstream_error"),
    ],
)
def test_google_errors_map_onto_ours(status: int, body: bytes, our_status: int, code: str) -> None:
    error = status_error(status, {}, body, errors.read_error)
    assert (error.status, error.code) == (our_status, code)
    assert "m" in error.message


def test_a_bad_gateway_key_is_not_the_callers_fault() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
    body = envelope(
        400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details
    )
    error = errors.ours(status_error(400, {}, body, errors.read_error))
    assert error.status == 502


def test_error_event_inside_a_stream() -> None:
    failure = errors.error_of({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})
    assert isinstance(failure, UpstreamError) and "boom" in failure.message
    assert errors.error_of(RECORDED_STREAM[0]) is None
