"""The pure Responses <-> Chat Completions translation: requests as chat bodies, and chat
chunks as a `response` and its stream events, checked against OpenAI's published schemas."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from tests.spec_helpers import DOC, errors, referenced_schemas, walk
from usecases.responses_events import ResponseEvents, outcome, shell
from usecases.responses_translation import (
    chat_messages,
    chat_request,
    completion_chunk,
    input_items,
    response_usage,
)

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


# ---------------------------------------------------------------------------- requests


def test_string_input_is_one_user_message() -> None:
    items = input_items({"input": "Hi"})
    assert items == [{"type": "message", "role": "user", "content": "Hi"}]
    assert chat_messages(items) == [{"role": "user", "content": "Hi"}]


def test_request_fields_map_to_their_chat_equivalents() -> None:
    request = {
        "model": "openai/gpt-5-mini",
        "input": "Hi",
        "instructions": "Be brief.",
        "max_output_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "parallel_tool_calls": False,
        "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "metadata": {"a": "b"},
        "store": False,
        "user": "u1",
    }
    body = chat_request(request, input_items(request))
    assert body == {
        "model": "openai/gpt-5-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "max_completion_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "parallel_tool_calls": False,
        "reasoning_effort": "high",
        "response_format": {"type": "json_object"},
        "verbosity": "low",
        "user": "u1",
    }


def test_json_schema_format_becomes_a_chat_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    text = {"format": {"type": "json_schema", "name": "A", "schema": schema, "strict": True}}
    body = chat_request({"model": "m", "text": text}, [])
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "A", "schema": schema, "strict": True},
    }
    assert "response_format" not in chat_request({"model": "m", "text": {"format": None}}, [])


def test_function_tools_and_tool_choices_take_the_chat_shape() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": None}
    request = {
        "model": "m",
        "tools": [tool],
        "tool_choice": {"type": "function", "name": "f"},
    }
    body = chat_request(request, [])
    assert body["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    allowed = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "f"}],
    }
    assert chat_request({"model": "m", "tool_choice": allowed}, [])["tool_choice"] == {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
    }


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ],
)
def test_what_chat_cannot_express_is_refused(request_: dict, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request({"model": "m", **request_}, [])
    assert caught.value.param == param
    assert caught.value.code == "unsupported_parameter"


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_file", "file_url": "https://example.com/a.pdf"},
        {"type": "input_file", "filename": "a.pdf"},
    ],
    ids=["by URL", "without data or id"],
)
def test_a_file_without_its_data_or_an_id_is_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_messages([{"role": "user", "content": [part]}])
    assert caught.value.code == "unsupported_parameter"
    assert "`file_data` or `file_id`" in caught.value.message


def test_content_parts_become_chat_parts() -> None:
    items = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                {
                    "type": "input_file",
                    "filename": "a.pdf",
                    "file_data": "data:application/pdf;base64,AA",
                },
                {"type": "input_file", "file_id": "file-1"},
            ],
        },
        {"role": "system", "content": [{"type": "input_text", "text": "sys"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ok", "annotations": []}],
        },
    ]
    assert chat_messages(items) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {
                    "type": "file",
                    "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AA"},
                },
                {"type": "file", "file": {"file_id": "file-1"}},
            ],
        },
        {"role": "system", "content": "sys"},
        {"role": "assistant", "content": "ok"},
    ]


def test_image_by_file_id_is_refused_naming_the_part() -> None:
    items = [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]
    with pytest.raises(InvalidRequest) as caught:
        chat_messages(items)
    assert caught.value.param == "input[0].content[0]"


def test_function_calls_join_the_assistant_turn_and_outputs_become_tool_messages() -> None:
    items = [
        {"role": "user", "content": "weather and time?"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Sure."}],
        },
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "noon"}],
        },
    ]
    assert chat_messages(items) == [
        {"role": "user", "content": "weather and time?"},
        {
            "role": "assistant",
            "content": "Sure.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                },
                {"id": "c2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "noon"},
    ]


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


# ---------------------------------------------------------------------------- events


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


# ---------------------------------------------------------------------------- the spec


def test_responses_request_schemas_never_forbid_unknown_fields() -> None:
    for name in referenced_schemas("CreateResponseRequest"):
        for path, node in walk(DOC["components"]["schemas"][name], f"#/{name}"):
            assert node.get("additionalProperties") is not False, path


def test_responses_operation_uses_the_responses_schemas() -> None:
    operation = DOC["paths"]["/responses"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    ok = operation["responses"]["200"]["content"]
    assert body["$ref"].endswith("/CreateResponseRequest")
    assert ok["application/json"]["schema"]["$ref"].endswith("/Response")
    assert ok["text/event-stream"]["schema"]["$ref"].endswith("/ResponseStreamEvent")


@pytest.mark.parametrize(
    "example",
    list(
        DOC["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    ),
)
def test_spec_examples_are_valid_requests_that_translate(example: str) -> None:
    content = DOC["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]
    request = content["examples"][example]["value"]
    assert errors("CreateResponseRequest", request) == []
    assert chat_request(request, input_items(request))["messages"]
