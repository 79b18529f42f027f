"""The chat completion request schema accepts whatever real clients send (SDK-echoed history with
nulls and unknown fields) and rejects a malformed request for the field that is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.spec_helpers import SDK_HISTORY, errors, failing_field

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


MINIMAL = {"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "Hi"}]}

GOOD_REQUESTS = {
    "minimal": MINIMAL,
    "sdk history with tools and a named tool choice": {
        "model": "openai/gpt-5-mini",
        "messages": SDK_HISTORY,
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
    },
    "json_schema response format": {
        **MINIMAL,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "city",
                "description": "A city and its country.",
                "schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
                    "required": ["city", "country"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        },
    },
    "streaming with options, limits and metadata": {
        **MINIMAL,
        "stream": True,
        "stream_options": {"include_usage": True, "include_obfuscation": False},
        "max_completion_tokens": 1024,
        "stop": ["\n\n", "END"],
        "metadata": {"team": "docs", "ticket": "WM-42"},
        "reasoning_effort": "xhigh",
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 2,
        "seed": 7,
        "logprobs": True,
        "top_logprobs": 5,
        "presence_penalty": -0.5,
        "frequency_penalty": 1.5,
        "logit_bias": {"50256": -100},
        "user": "user-1234",
        "safety_identifier": "9f86d081884c7d65",
        "prompt_cache_key": "docs-bot",
        "service_tier": "auto",
        "store": False,
        "verbosity": "low",
    },
    "every optional parameter null (litellm / AI SDK style)": {
        **MINIMAL,
        "stream": None,
        "stream_options": None,
        "max_tokens": None,
        "max_completion_tokens": None,
        "temperature": None,
        "top_p": None,
        "n": None,
        "stop": None,
        "seed": None,
        "logprobs": None,
        "top_logprobs": None,
        "presence_penalty": None,
        "frequency_penalty": None,
        "logit_bias": None,
        "metadata": None,
        "reasoning_effort": None,
        "service_tier": None,
        "store": None,
        "tools": None,
        "tool_choice": None,
        "parallel_tool_calls": None,
        "response_format": None,
        "modalities": None,
        "audio": None,
        "prediction": None,
        "verbosity": None,
        "prompt_cache_key": None,
        "safety_identifier": None,
        "user": None,
    },
    "stop as a string and legacy max_tokens": {**MINIMAL, "stop": "END", "max_tokens": 256},
    "unknown fields at every level": {
        "model": "openai/gpt-5-mini",
        "messages": [
            {"role": "user", "content": "Hi", "cache_control": {"type": "ephemeral"}},
            {"role": "assistant", "content": "Hello", "reasoning_content": "greet back"},
            {"role": "user", "content": "Bye"},
        ],
        "provider": {"order": ["openai"]},
        "extra_body": {"x": 1},
    },
    "every message role and content part": {
        "model": "openai/gpt-4o-audio-preview",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be terse."}]},
            {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {
                        "type": "file",
                        "file": {
                            "filename": "a.pdf",
                            "file_data": "data:application/pdf;base64,JV",
                        },
                    },
                    {"type": "file", "file": {"file_id": "file-abc"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                "refusal": "I can't help with that.",
                "audio": {"id": "audio_1"},
            },
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "f", "arguments": "{}"},
            },
            {"role": "function", "name": "f", "content": None},
            {"role": "tool", "tool_call_id": "call_9", "content": [{"type": "text", "text": "ok"}]},
        ],
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "mp3"},
        "functions": [{"name": "f", "parameters": {"type": "object", "properties": {}}}],
        "function_call": "auto",
    },
    "custom tools, required tool choice, prediction, web search": {
        **MINIMAL,
        "tools": [
            WEATHER_TOOL,
            {"type": "custom", "custom": {"name": "shell", "format": {"type": "text"}}},
        ],
        "tool_choice": "required",
        "prediction": {"type": "content", "content": "def f():\n    return 1\n"},
        "web_search_options": {
            "search_context_size": "low",
            "user_location": {"type": "approximate", "approximate": {"country": "FR"}},
        },
        "response_format": {"type": "json_object"},
    },
}


@pytest.mark.parametrize("body", GOOD_REQUESTS.values(), ids=GOOD_REQUESTS.keys())
def test_realistic_requests_are_accepted(body):
    assert errors("CreateChatCompletionRequest", body) == []


def _without(key: str) -> dict[str, Any]:
    body = copy.deepcopy(MINIMAL)
    del body[key]
    return body


def _message(**message: Any) -> dict[str, Any]:
    return {**MINIMAL, "messages": [message]}


# name: (body, the top-level field the rejection is about)
BAD_REQUESTS = {
    "missing model": (_without("model"), "model"),
    "missing messages": (_without("messages"), "messages"),
    "empty messages": ({**MINIMAL, "messages": []}, "messages"),
    "empty model": ({**MINIMAL, "model": ""}, "model"),
    "numeric model": ({**MINIMAL, "model": 4}, "model"),
    "unknown role": (_message(role="robot", content="beep"), "messages"),
    "message without role": (_message(content="Hi"), "messages"),
    "message that is a string": ({**MINIMAL, "messages": ["Hi"]}, "messages"),
    "user message without content": (_message(role="user"), "messages"),
    "tool message without tool_call_id": (_message(role="tool", content="42"), "messages"),
    "image part without url": (
        _message(role="user", content=[{"type": "image_url", "image_url": {}}]),
        "messages",
    ),
    "unknown content part": (_message(role="user", content=[{"type": "video"}]), "messages"),
    "temperature 3": ({**MINIMAL, "temperature": 3}, "temperature"),
    "top_p above 1": ({**MINIMAL, "top_p": 1.5}, "top_p"),
    "n 0": ({**MINIMAL, "n": 0}, "n"),
    "stop list of 5": ({**MINIMAL, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    "top_logprobs 21": ({**MINIMAL, "top_logprobs": 21}, "top_logprobs"),
    "presence_penalty -3": ({**MINIMAL, "presence_penalty": -3}, "presence_penalty"),
    "tool_choice sometimes": ({**MINIMAL, "tool_choice": "sometimes"}, "tool_choice"),
    "tool without function name": (
        {**MINIMAL, "tools": [{"type": "function", "function": {}}]},
        "tools",
    ),
    "response_format xml": ({**MINIMAL, "response_format": {"type": "xml"}}, "response_format"),
    "json_schema without name": (
        {**MINIMAL, "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format",
    ),
    "stream as a string": ({**MINIMAL, "stream": "yes"}, "stream"),
    "max_completion_tokens as a string": (
        {**MINIMAL, "max_completion_tokens": "100"},
        "max_completion_tokens",
    ),
    "reasoning_effort extreme": ({**MINIMAL, "reasoning_effort": "extreme"}, "reasoning_effort"),
    "metadata with 17 keys": (
        {**MINIMAL, "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
    ),
    "metadata with a number value": ({**MINIMAL, "metadata": {"k": 1}}, "metadata"),
    "stream_options as a boolean": ({**MINIMAL, "stream_options": True}, "stream_options"),
}


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_requests_are_rejected_for_the_right_field(body, field):
    assert errors("CreateChatCompletionRequest", body) != []
    assert failing_field("CreateChatCompletionRequest", body) == field
