"""Parity with OpenAI's own schemas: payloads they accept are accepted by ours (and checked
against OpenAI's file too when it is present)."""

from __future__ import annotations

import pytest

from tests.spec_helpers import REFERENCE, errors

# Payloads built by hand from the official schemas (they avoid values that the official file
# only allows through the `nullable` keyword, which JSON Schema 2020-12 ignores).
OFFICIAL_PAYLOADS = [
    (
        "CreateChatCompletionRequest",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "developer", "content": "Be terse.", "name": "ops"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Let me look."}],
                    "tool_calls": [
                        {"id": "ct_1", "type": "custom", "custom": {"name": "shell", "input": "ls"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "ct_1", "content": "cat.png"},
            ],
            "tools": [
                {
                    "type": "custom",
                    "custom": {
                        "name": "shell",
                        "description": "Runs a command.",
                        "format": {
                            "type": "grammar",
                            "grammar": {"definition": "start: /.+/", "syntax": "lark"},
                        },
                    },
                }
            ],
            "tool_choice": {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "auto", "tools": [{"type": "custom", "name": "shell"}]},
            },
            "max_completion_tokens": 300,
            "reasoning_effort": "minimal",
            "verbosity": "medium",
            "service_tier": "flex",
            "store": True,
            "metadata": {"purpose": "eval"},
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    (
        "CreateChatCompletionRequest",
        {
            "model": "gpt-4o-audio-preview",
            "messages": [{"role": "user", "content": "Say hi"}],
            "modalities": ["text", "audio"],
            "audio": {"voice": {"id": "voice_123"}, "format": "pcm16"},
            "prediction": {"type": "content", "content": [{"type": "text", "text": "hi"}]},
            "web_search_options": {
                "user_location": {
                    "type": "approximate",
                    "approximate": {"city": "Lyon", "country": "FR", "timezone": "Europe/Paris"},
                },
                "search_context_size": "high",
            },
            "tool_choice": {"type": "custom", "custom": {"name": "shell"}},
            "functions": [{"name": "f", "description": "legacy"}],
            "function_call": {"name": "f"},
            "stop": "\n",
        },
    ),
    (
        "CreateChatCompletionResponse",
        {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion",
            "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Paris is the capital of France.",
                        "refusal": None,
                        "annotations": [
                            {
                                "type": "url_citation",
                                "url_citation": {
                                    "start_index": 0,
                                    "end_index": 5,
                                    "url": "https://en.wikipedia.org/wiki/Paris",
                                    "title": "Paris",
                                },
                            }
                        ],
                    },
                    "logprobs": {
                        "content": [
                            {
                                "token": "Paris",
                                "logprob": -0.01,
                                "bytes": [80, 97, 114, 105, 115],
                                "top_logprobs": [
                                    {"token": "Paris", "logprob": -0.01, "bytes": None}
                                ],
                            }
                        ],
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 1117,
                "completion_tokens": 46,
                "total_tokens": 1163,
                "prompt_tokens_details": {
                    "cached_tokens": 0,
                    "audio_tokens": 0,
                    "text_tokens": 1117,
                    "image_tokens": 0,
                },
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fc9f1d7035",
        },
    ),
    (
        "CreateChatCompletionStreamResponse",
        {
            "id": "chatcmpl-123",
            "object": "chat.completion.chunk",
            "created": 1694268190,
            "model": "gpt-4o-mini",
            "system_fingerprint": "fp_44709d6fcb",
            "service_tier": "default",
            "obfuscation": "x7Q",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": "{}"},
                            }
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        },
    ),
    (
        "CreateChatCompletionStreamResponse",
        {
            "id": "chatcmpl-123",
            "object": "chat.completion.chunk",
            "created": 1694268190,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "payload"),
    OFFICIAL_PAYLOADS,
    ids=[f"{name}-{i}" for i, (name, _) in enumerate(OFFICIAL_PAYLOADS)],
)
def test_payloads_the_official_schemas_accept_are_accepted_by_ours(name, payload):
    if REFERENCE.exists():  # the sample must really be valid for OpenAI's own schema
        assert errors(name, payload, official=True) == []
    assert errors(name, payload) == []
