"""Chat completion chunks: repairing upstream tool-call quirks, finish reasons, usage, and
collecting a stream into one `chat.completion`."""

from __future__ import annotations

import pytest

from domain.metering import Usage
from providers.chunks import (
    FINISH_REASONS,
    Collector,
    ToolCallRepair,
    finish_reason,
    repair_choice,
    repair_completion_choice,
    usage_from,
    usage_payload,
)
from providers.chunks import (
    collect as collect_stream,
)

# --- ToolCallRepair -------------------------------------------------------------------------


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


# --- finish_reason and repair_choice ---------------------------------------------------------


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


# --- Collector -------------------------------------------------------------------------------


def chunk(*choices, **extra):
    return {"object": "chat.completion.chunk", "choices": list(choices), **extra}


def delta(index=0, finish=None, logprobs=None, **fields):
    return {"index": index, "delta": fields, "logprobs": logprobs, "finish_reason": finish}


USAGE = Usage(prompt_tokens=10, completion_tokens=5, cached_tokens=2)


def collect(*chunks) -> dict:
    collector = Collector()
    for c in chunks:
        collector.add(c)
    return collector.completion(id="chatcmpl-1", created=123, model="writingmate/echo", usage=USAGE)


def test_completion_has_openais_shape():
    completion = collect(
        chunk(delta(role="assistant", content=""), system_fingerprint="fp_1"),
        chunk(delta(content="Hello")),
        chunk(delta(content=", world")),
        chunk(delta(finish="stop")),
        chunk(usage={"prompt_tokens": 10}, service_tier="default"),
    )
    assert completion == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 123,
        "model": "writingmate/echo",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello, world",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
        "system_fingerprint": "fp_1",
        "service_tier": "default",
    }


def test_an_empty_stream_collects_to_one_empty_stop_choice():
    completion = collect()
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert "system_fingerprint" not in completion and "service_tier" not in completion


def test_refusal_is_collected():
    completion = collect(chunk(delta(refusal="I can't ")), chunk(delta(refusal="help with that.")))
    message = completion["choices"][0]["message"]
    assert message["refusal"] == "I can't help with that."
    assert message["content"] == ""


def test_reasoning_content_is_collected_when_present():
    completion = collect(
        chunk(delta(reasoning_content="think ")),
        chunk(delta(reasoning_content="hard")),
        chunk(delta(content="42")),
    )
    message = completion["choices"][0]["message"]
    assert message["reasoning_content"] == "think hard"
    assert message["content"] == "42"


def test_parallel_tool_calls_are_collected_in_index_order_with_joined_arguments():
    repair = ToolCallRepair()

    def calls(*deltas):
        return chunk(repair_choice(delta(tool_calls=list(deltas)), repair))

    completion = collect(
        calls(
            {
                "index": 1,
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_time", "arguments": ""},
            }
        ),
        calls(
            {
                "index": 0,
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"ci'},
            }
        ),
        calls({"index": 1, "function": {"arguments": '{"tz":"UTC"}'}}),
        calls({"index": 0, "function": {"arguments": 'ty":"Paris"}'}}),
        chunk(delta(finish="tool_calls")),
    )
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        },
        {
            "id": "call_b",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz":"UTC"}'},
        },
    ]


def test_tool_calls_without_finish_reason_default_to_tool_calls():
    completion = collect(
        chunk(
            delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ]
            )
        )
    )
    assert completion["choices"][0]["finish_reason"] == "tool_calls"


def test_text_and_tool_calls_together_keep_the_text():
    completion = collect(
        chunk(delta(content="Let me check.")),
        chunk(
            delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ]
            )
        ),
    )
    message = completion["choices"][0]["message"]
    assert message["content"] == "Let me check."
    assert len(message["tool_calls"]) == 1


def test_finish_reason_defaults_to_stop_and_keeps_the_last_given():
    assert collect(chunk(delta(content="x")))["choices"][0]["finish_reason"] == "stop"
    assert (
        collect(chunk(delta(content="x")), chunk(delta(finish="length")), chunk(delta()))[
            "choices"
        ][0]["finish_reason"]
        == "length"
    )


def test_logprobs_are_concatenated():
    first = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}
    second = {"token": "!", "logprob": -0.2, "bytes": [33], "top_logprobs": []}
    completion = collect(
        chunk(delta(content="Hi", logprobs={"content": [first], "refusal": None})),
        chunk(delta(content="!", logprobs={"content": [second]})),
    )
    assert completion["choices"][0]["logprobs"] == {"content": [first, second], "refusal": []}


def test_several_choices_are_collected_separately_in_index_order():
    completion = collect(
        chunk(delta(1, content="b1"), delta(0, content="a1")),
        chunk(delta(0, content="a2"), delta(1, content="b2")),
        chunk(delta(0, finish="stop"), delta(1, finish="length")),
    )
    assert [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in completion["choices"]
    ] == [(0, "a1a2", "stop"), (1, "b1b2", "length")]


def test_choice_without_index_is_choice_zero():
    completion = collect(chunk({"delta": {"content": "x"}}))
    assert completion["choices"][0]["index"] == 0
    assert completion["choices"][0]["message"]["content"] == "x"


# --- usage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param({}, None, id="empty"),
        pytest.param(
            {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            Usage(10, 5, 0),
            id="no details",
        ),
        pytest.param(
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
            Usage(10, 5, 4),
            id="cached tokens from prompt_tokens_details",
        ),
        pytest.param(
            {"prompt_tokens": 10, "completion_tokens": None, "prompt_tokens_details": None},
            Usage(10, 0, 0),
            id="nulls are zero",
        ),
        pytest.param(
            {
                "prompt_tokens": 3,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": None, "audio_tokens": 0},
            },
            Usage(3, 2, 0),
            id="null cached tokens",
        ),
    ],
)
def test_usage_from(usage, expected):
    assert usage_from(usage) == expected


def test_usage_from_is_not_an_estimate():
    assert usage_from({"prompt_tokens": 1})
    assert not usage_from({"prompt_tokens": 1}).estimated


def test_usage_payload_round_trips_through_usage_from():
    usage = Usage(prompt_tokens=7, completion_tokens=3, cached_tokens=2)
    assert usage_payload(usage)["total_tokens"] == 10
    assert usage_from(usage_payload(usage)) == usage


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


async def test_collect_turns_a_stream_into_one_completion_with_its_usage() -> None:
    async def stream():  # type: ignore[no-untyped-def]
        yield {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}
        yield {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}
        yield {
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }

    completion = await collect_stream(stream())
    assert completion["choices"][0]["message"]["content"] == "Hello"
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["total_tokens"] == 5
