"""Repairing upstream tool-call quirks in chat completion chunks: missing indexes and ids,
numeric ids, and deltas that only carry what changed."""

from __future__ import annotations

import pytest

from providers.chunks import ToolCallRepair


def test_first_delta_of_a_call_gets_index_id_type_and_name():
    repair = ToolCallRepair()
    [call] = repair.apply(0, [{"id": "call_1", "function": {"arguments": "{"}}])
    assert call == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "", "arguments": "{"},
    }


def test_a_well_formed_openai_stream_passes_through_unchanged():
    repair = ToolCallRepair()
    first = {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    later = {"index": 0, "function": {"arguments": '{"city":'}}
    assert repair.apply(0, [first]) == [first]
    assert repair.apply(0, [later]) == [later]


def test_continuation_without_index_or_id_continues_the_latest_call():
    repair = ToolCallRepair()
    repair.apply(0, [{"id": "a", "function": {"name": "f", "arguments": ""}}])
    repair.apply(0, [{"id": "b", "function": {"name": "g", "arguments": ""}}])
    [call] = repair.apply(0, [{"function": {"arguments": '{"x":1}'}}])
    assert call == {"index": 1, "function": {"arguments": '{"x":1}'}}


def test_new_id_without_index_starts_the_next_call():
    repair = ToolCallRepair()
    [a] = repair.apply(0, [{"id": "a", "function": {"name": "f"}}])
    [b] = repair.apply(0, [{"id": "b", "function": {"name": "g"}}])
    assert (a["index"], b["index"]) == (0, 1)
    assert b["type"] == "function" and b["id"] == "b"


def test_repeated_id_without_index_finds_its_call():
    repair = ToolCallRepair()
    repair.apply(
        0, [{"id": "a", "function": {"name": "f"}}, {"id": "b", "function": {"name": "g"}}]
    )
    [call] = repair.apply(0, [{"id": "a", "function": {"arguments": "{}"}}])
    assert call == {"index": 0, "id": "a", "function": {"arguments": "{}"}}


def test_numeric_ids_become_strings():
    repair = ToolCallRepair()
    [first] = repair.apply(0, [{"index": 0, "id": 17, "function": {"name": "f"}}])
    assert first["id"] == "17"
    [again] = repair.apply(0, [{"index": 0, "id": 17, "function": {"arguments": "{}"}}])
    assert again["id"] == "17"


def test_numeric_id_without_index_is_matched_to_its_call():
    repair = ToolCallRepair()
    repair.apply(0, [{"id": 1, "function": {"name": "f"}}, {"id": 2, "function": {"name": "g"}}])
    [call] = repair.apply(0, [{"id": 1, "function": {"arguments": "{}"}}])
    assert call["index"] == 0


@pytest.mark.parametrize("missing", [{}, {"id": None}, {"id": ""}], ids=["absent", "null", "empty"])
def test_missing_ids_are_generated(missing):
    repair = ToolCallRepair()
    [call] = repair.apply(0, [{"index": 0, **missing, "function": {"name": "f"}}])
    assert isinstance(call["id"], str)
    assert call["id"].startswith("call_") and len(call["id"]) > len("call_")


def test_generated_ids_differ_between_calls():
    repair = ToolCallRepair()
    calls = repair.apply(
        0, [{"index": 0, "function": {"name": "f"}}, {"index": 1, "function": {"name": "g"}}]
    )
    assert calls[0]["id"] != calls[1]["id"]


def test_later_deltas_keep_only_what_they_had():
    repair = ToolCallRepair()
    repair.apply(0, [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}])
    [later] = repair.apply(0, [{"index": 0, "function": {"arguments": "{}"}}])
    assert later == {"index": 0, "function": {"arguments": "{}"}}
    assert "id" not in later and "type" not in later and "name" not in later["function"]


def test_first_delta_keeps_its_name_and_arguments():
    repair = ToolCallRepair()
    [call] = repair.apply(
        0,
        [
            {
                "index": 0,
                "id": "a",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q":'},
            }
        ],
    )
    assert call["function"] == {"name": "lookup", "arguments": '{"q":'}


def test_first_delta_without_function_gets_an_empty_name():
    [call] = ToolCallRepair().apply(0, [{"index": 0, "id": "a"}])
    assert call["type"] == "function"
    assert call["function"] == {"name": "", "arguments": ""}


def test_calls_are_tracked_per_choice():
    repair = ToolCallRepair()
    [a] = repair.apply(0, [{"id": "a", "function": {"name": "f"}}])
    [b] = repair.apply(1, [{"id": "b", "function": {"name": "g"}}])
    assert a["index"] == 0 and b["index"] == 0
    assert b["type"] == "function"


def test_repair_does_not_mutate_the_upstream_delta():
    repair = ToolCallRepair()
    original = {"id": 5, "function": {"arguments": "x"}}
    repair.apply(0, [original])
    assert original == {"id": 5, "function": {"arguments": "x"}}
