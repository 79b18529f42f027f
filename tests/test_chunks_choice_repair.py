"""Finish reasons mapped onto OpenAI's, and choices (streamed and not) repaired so that they
carry every field clients read."""

from __future__ import annotations

import pytest

from providers.chunks import (
    FINISH_REASONS,
    ToolCallRepair,
    finish_reason,
    repair_choice,
    repair_completion_choice,
)


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        ("", None),
        (None, None),
        ("error", "stop"),
        ("end_turn", "stop"),
        ("STOP", "stop"),
        *[(reason, reason) for reason in sorted(FINISH_REASONS)],
    ],
)
def test_finish_reason_mapping(upstream, expected):
    assert finish_reason(upstream) == expected


def test_finish_reasons_are_openais():
    assert {"stop", "length", "tool_calls", "content_filter", "function_call"} == FINISH_REASONS


def test_repair_choice_fills_index_logprobs_and_maps_finish_reason():
    fixed = repair_choice({"delta": {"content": "hi"}, "finish_reason": ""}, ToolCallRepair())
    assert fixed == {
        "index": 0,
        "delta": {"content": "hi"},
        "finish_reason": None,
        "logprobs": None,
    }


def test_repair_choice_repairs_tool_calls_of_its_choice():
    fixed = repair_choice(
        {
            "index": 1,
            "delta": {"tool_calls": [{"id": 9, "function": {"name": "f"}}]},
            "finish_reason": "weird",
        },
        ToolCallRepair(),
    )
    [call] = fixed["delta"]["tool_calls"]
    assert call == {
        "index": 0,
        "id": "9",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert fixed["finish_reason"] == "stop"


def test_repair_choice_gives_a_missing_delta_an_empty_one():
    assert repair_choice({"index": 0, "finish_reason": "stop"}, ToolCallRepair())["delta"] == {}


def test_non_streamed_choice_gets_every_field_clients_read() -> None:
    repaired = repair_completion_choice(
        {"message": {"content": "hi"}, "finish_reason": ""}, position=2
    )
    assert repaired == {
        "index": 2,
        "message": {"role": "assistant", "content": "hi", "refusal": None},
        "logprobs": None,
        "finish_reason": "stop",
    }


def test_non_streamed_tool_calls_get_string_ids_and_their_finish_reason() -> None:
    repaired = repair_completion_choice(
        {
            "index": 0,
            "message": {"tool_calls": [{"id": 7, "function": {"name": "f", "arguments": "{}"}}]},
        },
        position=0,
    )
    [call] = repaired["message"]["tool_calls"]
    assert call["id"] == "7" and call["type"] == "function"
    assert repaired["finish_reason"] == "tool_calls"
    assert repaired["message"]["content"] is None
