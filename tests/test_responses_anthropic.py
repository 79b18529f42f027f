"""`POST /responses` on Anthropic through its fake upstream: thinking streams as a reasoning item
before the message, and a tool call goes round through `previous_response_id`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Gateway
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.responses_helpers import WEATHER

ANTHROPIC_KEY = "sk-ant-upstream-test-key"


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[FakeAnthropicUpstream]:
    fake = FakeAnthropicUpstream(api_key=ANTHROPIC_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def anthropic_gateway(
    start_gateway: Callable[..., Gateway], anthropic_server: FakeAnthropicUpstream
) -> Gateway:
    anthropic_server.reset()
    return start_gateway(
        env={
            "WMGW_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "WMGW_ANTHROPIC_BASE_URL": str(anthropic_server.base_url),
        }
    )


def test_anthropic_thinking_streams_as_a_reasoning_item_before_the_message(
    anthropic_gateway: Gateway, anthropic_server: FakeAnthropicUpstream
) -> None:
    anthropic_server.reply("42", thinking="Let me think.")
    with anthropic_gateway.client().responses.stream(
        model="anthropic/claude-haiku-4.5", input="Answer?", reasoning={"effort": "medium"}
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    assert reasoning.content[0].text == "Let me think."
    assert final.output_text == "42"
    assert "response.reasoning_text.delta" in types
    assert anthropic_server.requests[0].body["thinking"]["type"] == "enabled"


def test_anthropic_tool_call_round_trip_through_previous_response_id(
    anthropic_gateway: Gateway, anthropic_server: FakeAnthropicUpstream
) -> None:
    client = anthropic_gateway.client()
    anthropic_server.reply(tool_uses=[("get_weather", {"city": "Rome"})])
    first = client.responses.create(
        model="anthropic/claude-haiku-4.5", input="Weather in Rome?", tools=[WEATHER]
    )
    [call] = first.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Rome"}
    anthropic_server.reply("21C in Rome.")
    second = client.responses.create(
        model="anthropic/claude-haiku-4.5",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21C"}],
        tools=[WEATHER],
    )
    assert second.output_text == "21C in Rome."
    sent = anthropic_server.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[2]["content"][0]["type"] == "tool_result"
