"""Collecting a stream of chat completion chunks into one `chat.completion`: text, refusals,
reasoning, tool calls, logprobs, several choices and usage."""

from __future__ import annotations

from domain.metering import Usage
from providers.chunks import Collector, ToolCallRepair, repair_choice
from providers.chunks import (
    collect as collect_stream,
)


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
