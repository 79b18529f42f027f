"""How chat chunks become a `response` and its stream events, in OpenAI's order and valid
against OpenAI's published schemas; usage in Responses terms."""

from __future__ import annotations

from typing import Any

from tests.spec_helpers import errors
from usecases.responses_events import ResponseEvents, outcome, shell
from usecases.responses_translation import completion_chunk, response_usage

USAGE = response_usage({"prompt_tokens": 3, "completion_tokens": 2})


def chunk(finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def call(index: int, call_id: str | None = None, name: str = "", args: str = "") -> dict:
    head = {"id": call_id, "type": "function"} if call_id else {}
    return {"index": index, **head, "function": {"name": name, "arguments": args}}


def run(*chunks: dict[str, Any], request: dict | None = None) -> tuple[list[dict], dict]:
    """Every event for the chunks, and the final response."""
    events = ResponseEvents(shell(request or {"model": "m"}, response_id="resp_1", created_at=1))
    out = events.start()
    for c in chunks:
        out += events.feed(c)
    out += events.finish(USAGE, completed_at=2)
    return out, out[-1]["response"]


def without_ids(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "id"} for item in response["output"]]


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_usage_in_responses_terms() -> None:
    usage = response_usage(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 3},
        }
    )
    assert usage == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 15,
    }


def test_text_stream_events_in_openais_order() -> None:
    events, response = run(chunk(content="Hel"), chunk(content="lo"), chunk("stop"))
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress"
    assert events[2]["item"]["content"] == [] and events[2]["item"]["status"] == "in_progress"
    assert events[3]["part"] == {
        "type": "output_text",
        "text": "",
        "annotations": [],
        "logprobs": [],
    }
    assert events[6]["text"] == "Hello" and events[7]["part"]["text"] == "Hello"
    assert events[8]["item"]["status"] == "completed"
    assert response["status"] == "completed" and response["completed_at"] == 2
    assert response["output"][0]["content"][0]["text"] == "Hello"
    assert response["usage"] == USAGE
    for event in events:
        assert errors("ResponseStreamEvent", event, official=True) == []
        assert errors("ResponseStreamEventData", event) == []


def test_reasoning_then_text_are_two_items() -> None:
    events, response = run(chunk(reasoning_content="think"), chunk(content="answer"), chunk("stop"))
    reasoning, message = response["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "think"}]
    assert reasoning["summary"] == []
    assert message["content"][0]["text"] == "answer"
    assert "response.reasoning_text.delta" in types(events)
    done = types(events).index("response.reasoning_text.done")
    assert done < types(events).index("response.output_item.added", done)
    for event in events:
        assert errors("ResponseStreamEvent", event, official=True) == []


def test_refusal_is_a_refusal_part() -> None:
    events, response = run(chunk(refusal="I can't."), chunk("stop"))
    assert response["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't."}]
    assert "response.refusal.delta" in types(events)
    assert next(e for e in events if e["type"] == "response.refusal.done")["refusal"] == "I can't."
    for event in events:
        assert errors("ResponseStreamEvent", event, official=True) == []


def test_function_calls_stream_their_arguments_to_their_own_items() -> None:
    events, response = run(
        chunk(tool_calls=[call(0, "call_a", "weather", '{"ci')]),
        chunk(tool_calls=[call(1, "call_b", "time")]),
        chunk(tool_calls=[call(0, args='ty": "Oslo"}')]),
        chunk(tool_calls=[call(1, args="{}")]),
        chunk("tool_calls"),
    )
    first, second = response["output"]
    assert (first["call_id"], first["name"], first["arguments"]) == (
        "call_a",
        "weather",
        '{"city": "Oslo"}',
    )
    assert (second["call_id"], second["arguments"]) == ("call_b", "{}")
    assert first["id"].startswith("fc_") and first["status"] == "completed"
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert [(d["output_index"], d["delta"]) for d in deltas] == [
        (0, '{"ci'),
        (0, 'ty": "Oslo"}'),
        (1, "{}"),
    ]
    dones = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [(d["name"], d["arguments"]) for d in dones] == [
        ("weather", '{"city": "Oslo"}'),
        ("time", "{}"),
    ]
    for event in events:
        assert errors("ResponseStreamEvent", event, official=True) == []


def test_text_before_a_call_is_closed_before_the_call_starts() -> None:
    events, response = run(
        chunk(content="Let me check."), chunk(tool_calls=[call(0, "c", "f", "{}")]), chunk("stop")
    )
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]
    names = types(events)
    assert names.index("response.output_item.done") < names.index(
        "response.output_item.added", names.index("response.output_item.done")
    )


def test_length_finish_makes_the_response_incomplete() -> None:
    events, response = run(chunk(content="cut"), chunk("length"))
    assert events[-1]["type"] == "response.incomplete"
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    assert response["completed_at"] is None
    assert outcome("content_filter") == ("incomplete", {"reason": "content_filter"})
    assert outcome("tool_calls") == ("completed", None)


def test_failure_ends_with_response_failed_keeping_the_output() -> None:
    events = ResponseEvents(shell({"model": "m"}, response_id="resp_1", created_at=1))
    events.start()
    events.feed(chunk(content="partial"))
    [failed] = events.fail("server_error", "The upstream failed.", USAGE)
    assert failed["type"] == "response.failed"
    response = failed["response"]
    assert response["status"] == "failed"
    assert response["error"] == {"code": "server_error", "message": "The upstream failed."}
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["text"] == "partial"
    assert errors("ResponseStreamEvent", failed, official=True) == []


def test_a_whole_completion_gives_the_same_response_as_its_stream() -> None:
    completion = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    _, whole = run(completion_chunk(completion))
    _, streamed = run(
        chunk(content="Checking."), chunk(tool_calls=[call(0, "c", "f", "{}")]), chunk("tool_calls")
    )
    assert without_ids(whole) == without_ids(streamed)


def test_shell_echoes_the_request_with_openais_defaults() -> None:
    response = shell(
        {
            "model": "m",
            "tools": [{"type": "function", "name": "f"}],
            "text": {"format": {"type": "json_object"}},
            "previous_response_id": "resp_0",
        },
        response_id="resp_1",
        created_at=5,
    )
    assert response["tools"] == [
        {"type": "function", "name": "f", "description": None, "parameters": None, "strict": None}
    ]
    assert (response["temperature"], response["top_p"], response["tool_choice"]) == (
        1.0,
        1.0,
        "auto",
    )
    assert response["store"] is True and response["parallel_tool_calls"] is True
    assert response["previous_response_id"] == "resp_0"
    assert response["text"] == {"format": {"type": "json_object"}, "verbosity": "medium"}
    assert errors("Response", response, official=True) == []
