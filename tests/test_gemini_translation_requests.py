"""How an OpenAI chat request becomes a Gemini generateContent request, and which ones are
refused: tables of payloads shaped as in the Gemini API reference."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from providers.gemini import request as gemini

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
