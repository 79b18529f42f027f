"""Function tools on `POST /responses`: calls come back as items, streamed as argument deltas;
their outputs go back with or without stored state; the upstream gets them as chat tool calls;
hosted tools are refused."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.responses_helpers import ECHO, OPENAI, WEATHER, collapsed, raw_events
from tests.spec_helpers import errors


def test_function_call_comes_back_as_an_item_with_a_call_id(gateway: Gateway) -> None:
    response = gateway.client().responses.create(
        model=ECHO, input='get_weather {"city": "Paris"}', tools=[WEATHER]
    )
    [call] = response.output
    assert call.type == "function_call" and call.id.startswith("fc_")
    assert call.call_id.startswith("call_") and call.status == "completed"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert response.output_text == ""
    assert response.tools[0].name == "get_weather"


def test_streamed_function_call_sends_argument_deltas_then_done(gateway: Gateway) -> None:
    events = raw_events(
        gateway, {"model": ECHO, "input": 'get_weather {"city": "Oslo"}', "tools": [WEATHER]}
    )
    assert collapsed([name for name, _ in events]) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    by_type = {name: data for name, data in events}
    added = by_type["response.output_item.added"]["item"]
    assert added["type"] == "function_call" and added["arguments"] == ""
    deltas = [d for n, d in events if n == "response.function_call_arguments.delta"]
    assert all(d["item_id"] == added["id"] for d in deltas)
    done = by_type["response.function_call_arguments.done"]
    assert json.loads("".join(d["delta"] for d in deltas)) == {"city": "Oslo"}
    assert done["name"] == "get_weather" and json.loads(done["arguments"]) == {"city": "Oslo"}
    for _, data in events:
        assert errors("ResponseStreamEvent", data, official=True) == []


def test_function_call_output_round_trip_with_previous_response_id(gateway: Gateway) -> None:
    client = gateway.client()
    with client.responses.stream(
        model=ECHO, input='get_weather {"city": "Rome"}', tools=[WEATHER]
    ) as stream:
        first = stream.get_final_response()
    [call] = first.output
    second = client.responses.create(
        model=ECHO,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21C"}],
        tools=[WEATHER],
    )
    assert second.output_text == "Tool result: 21C"
    assert second.previous_response_id == first.id


def test_function_call_output_round_trip_without_storage(gateway: Gateway) -> None:
    client = gateway.client()
    question = {"role": "user", "content": "get_weather Paris"}
    first = client.responses.create(model=ECHO, input=[question], tools=[WEATHER], store=False)
    [call] = first.output
    second = client.responses.create(
        model=ECHO,
        input=[
            question,
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=[WEATHER],
        store=False,
    )
    assert second.output_text == "Tool result: sunny"


def test_function_call_history_reaches_the_upstream_as_tool_calls(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(tool_calls=[("get_weather", '{"city": "Rome"}')])
    client = gateway.client()
    first = client.responses.create(model=OPENAI, input="Weather in Rome?", tools=[WEATHER])
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    fake_openai.reply("It is 21C in Rome.")
    second = client.responses.create(
        model=OPENAI,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21C"}],
        tools=[WEATHER],
        tool_choice="auto",
    )
    assert second.output_text == "It is 21C in Rome."
    sent = fake_openai.requests[1].body
    assert sent["tools"] == [
        {"type": "function", "function": {k: WEATHER[k] for k in WEATHER if k != "type"}}
    ]
    assert sent["tool_choice"] == "auto"
    assert sent["messages"] == [
        {"role": "user", "content": "Weather in Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": "21C"},
    ]


def test_hosted_tools_are_refused(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().responses.create(
            model=ECHO, input="search", tools=[{"type": "web_search"}]
        )
    assert caught.value.param is not None and caught.value.param.startswith("tools[0]")
    assert gateway.ledger() == []
