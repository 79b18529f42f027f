"""How a non-streamed Anthropic message becomes a chat completion: content, tool calls,
thinking, stop reasons and usage, on a message from Anthropic's API reference."""

from __future__ import annotations

import pytest

from providers.anthropic import answers

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
