"""`POST /responses` (and `GET`/`DELETE /responses/{id}`) through the gateway with the official
OpenAI SDK: on the offline echo model, and on the fake OpenAI upstream, which only speaks Chat
Completions, so everything a client sees was translated by the gateway."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pydantic
import pytest
from sqlalchemy import create_engine, text

from gateway.settings import Settings
from storage import accounts
from storage.migrate import upgrade
from tests.conftest import SERVER_SECRET, Gateway, seed
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.services.postgres import local_postgres, server_bin
from tests.spec_helpers import errors
from web.app import create_app

ECHO = "writingmate/echo"
OPENAI = "openai/gpt-5-mini"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def raw_events(gateway: Gateway, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A stream's frames as (event line, parsed data), checking the framing on the way."""
    with gateway.http() as http:
        response = http.post("/responses", json={**body, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    events = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name = event_line.removeprefix("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        events.append((name, data))
    return events


def wait_for_ledger(gateway: Gateway, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The ledger once it has `count` rows (a stream is settled after its client left)."""
    deadline = time.monotonic() + timeout
    while len(rows := gateway.ledger()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


def collapsed(types: list[str]) -> list[str]:
    """Event types with runs of the same delta event shown once."""
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1] or "delta" not in t]


# ---------------------------------------------------------------------------- plain answers


def test_create_answers_with_output_text_usage_and_one_ledger_row(gateway: Gateway) -> None:
    raw = gateway.client().responses.with_raw_response.create(
        model=ECHO, input="Hello there, gateway!", metadata={"team": "a"}
    )
    response = raw.parse()
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.completed_at is not None
    assert response.output_text == "Hello there, gateway!"
    [message] = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.status == "completed" and message.role == "assistant"
    assert (response.model, response.metadata, response.store) == (ECHO, {"team": "a"}, True)
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (5, 5, 10)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["endpoint"], row["model"], row["status"]) == ("responses", ECHO, "completed")
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (5, 5, 1)


def test_response_matches_openais_published_schema(gateway: Gateway) -> None:
    with gateway.http() as http:
        body = http.post(
            "/responses",
            json={"model": ECHO, "input": "check my shape", "instructions": "Be brief."},
        ).json()
    assert errors("Response", body, official=True) == []
    assert errors("Response", body) == []
    assert body["instructions"] == "Be brief."


def test_instructions_and_input_items_reach_the_upstream_as_chat_messages(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Bonjour", prompt_tokens=12, completion_tokens=1)
    response = gateway.client().responses.create(
        model=OPENAI,
        instructions="Answer in French.",
        input=[
            {"role": "developer", "content": "Be polite."},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            },
        ],
        max_output_tokens=100,
        temperature=0.5,
        reasoning={"effort": "low"},
    )
    assert response.output_text == "Bonjour"
    [request] = fake_openai.requests
    assert request.body["model"] == "gpt-5-mini"
    assert request.body["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "developer", "content": "Be polite."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"},
                },
            ],
        },
    ]
    assert request.body["max_completion_tokens"] == 100
    assert request.body["temperature"] == 0.5
    assert request.body["reasoning_effort"] == "low"


def test_upstream_cached_and_reasoning_tokens_are_reported_in_responses_terms(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(
        "ok", prompt_tokens=100, completion_tokens=30, cached_tokens=60, reasoning_tokens=20
    )
    usage = gateway.client().responses.create(model=OPENAI, input="Hi").usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 30, 130)
    assert usage.input_tokens_details.cached_tokens == 60
    assert usage.output_tokens_details.reasoning_tokens == 20
    assert gateway.ledger()[0]["cached_tokens"] == 60


# ---------------------------------------------------------------------------- streaming


def test_stream_sends_the_full_event_sequence_with_increasing_sequence_numbers(
    gateway: Gateway,
) -> None:
    events = raw_events(gateway, {"model": ECHO, "input": "one two three four"})
    types = [name for name, _ in events]
    assert collapsed(types) == TEXT_EVENTS
    assert types.count("response.output_text.delta") >= 3
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    by_type = {name: data for name, data in events}
    assert by_type["response.created"]["response"]["status"] == "in_progress"
    assert by_type["response.created"]["response"]["output"] == []
    deltas = [d["delta"] for name, d in events if name == "response.output_text.delta"]
    assert "".join(deltas) == "one two three four"
    assert by_type["response.output_text.done"]["text"] == "one two three four"
    final = by_type["response.completed"]["response"]
    assert final["output"][0]["content"][0]["text"] == "one two three four"
    assert final["usage"]["output_tokens"] == 4
    ids = {d["response"]["id"] for n, d in events if "response" in d}
    assert len(ids) == 1
    for _, data in events:
        assert errors("ResponseStreamEvent", data, official=True) == []
        assert errors("ResponseStreamEventData", data) == []


def test_sdk_stream_helper_gives_the_final_response(gateway: Gateway) -> None:
    with gateway.client().responses.stream(model=ECHO, input="stream me please") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "stream me please"
    assert final.output_text == "stream me please"
    assert final.status == "completed"
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["completion_tokens"]) == (
        "responses",
        "completed",
        3,
    )


async def test_async_client_streams_events(gateway: Gateway) -> None:
    client = gateway.async_client()
    stream = await client.responses.create(model=ECHO, input="async hello", stream=True)
    events = [event async for event in stream]
    await client.close()
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "async hello"


def test_upstream_stream_translates_to_events_and_streams_usage(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Hello from upstream", prompt_tokens=7, completion_tokens=3)
    with gateway.client().responses.stream(model=OPENAI, input="Hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Hello from upstream"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 3)
    [request] = fake_openai.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"]["include_usage"] is True


def test_stream_that_fails_before_output_is_a_json_error(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(503)
    with gateway.http() as http:
        response = http.post("/responses", json={"model": OPENAI, "input": "Hi", "stream": True})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "upstream_error"
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["messages"]) == ("responses", "upstream_error", 0)


def test_mid_stream_failure_ends_with_response_failed_and_is_metered(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("one two three four five six", error_after=3)
    events = raw_events(gateway, {"model": OPENAI, "input": "Hi"})
    name, last = events[-1]
    assert name == "response.failed"
    assert last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == "server_error"
    assert last["response"]["error"]["message"]
    assert last["response"]["usage"]["output_tokens"] > 0
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert errors("ResponseStreamEvent", last, official=True) == []
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["messages"]) == ("responses", "interrupted", 1)


def test_non_streamed_upstream_failure_is_openais_error_envelope(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client().responses.create(model=OPENAI, input="Hi")
    assert caught.value.code == "rate_limit_exceeded"
    assert gateway.ledger()[0]["status"] == "upstream_error"


# ---------------------------------------------------------------------------- limits


def test_max_output_tokens_makes_the_response_incomplete(gateway: Gateway) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    response = gateway.client().responses.create(model=ECHO, input=words, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert response.usage.output_tokens == 16
    assert response.completed_at is None


def test_streamed_max_output_tokens_ends_with_response_incomplete(gateway: Gateway) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    events = raw_events(gateway, {"model": ECHO, "input": words, "max_output_tokens": 16})
    name, last = events[-1]
    assert name == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert errors("ResponseStreamEvent", last, official=True) == []


# ---------------------------------------------------------------------------- tools


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


# ---------------------------------------------------------------------------- conversation state


def test_previous_response_id_continues_the_conversation(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    client = gateway.client()
    fake_openai.reply("Hello Ada!")
    first = client.responses.create(model=OPENAI, input="My name is Ada.", instructions="Be warm.")
    fake_openai.reply("Your name is Ada.")
    second = client.responses.create(
        model=OPENAI, previous_response_id=first.id, input="What is my name?"
    )
    fake_openai.reply("You asked my name.")
    client.responses.create(model=OPENAI, previous_response_id=second.id, input="And then?")
    assert second.output_text == "Your name is Ada."
    turns = [r.body["messages"] for r in fake_openai.requests]
    assert turns[1] == [  # the instructions were for the first turn only
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada!"},
        {"role": "user", "content": "What is my name?"},
    ]
    assert turns[2] == [
        *turns[1],
        {"role": "assistant", "content": "Your name is Ada."},
        {"role": "user", "content": "And then?"},
    ]


def test_echo_counts_the_whole_conversation_as_input(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.responses.create(model=ECHO, input="My name is Ada")  # 4 tokens, echoed
    second = client.responses.create(
        model=ECHO, previous_response_id=first.id, input="What is my name?"
    )
    assert second.output_text == "What is my name?"
    assert second.usage.input_tokens == 4 + 4 + 5


def test_store_false_response_cannot_be_continued_or_retrieved(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.responses.create(model=ECHO, input="forget me", store=False)
    assert first.store is False
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=ECHO, previous_response_id=first.id, input="again")
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.param == "previous_response_id"
    assert first.id in caught.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    assert len(gateway.ledger()) == 1  # the refused request never reached a model


def test_stored_response_can_be_retrieved_and_deleted(gateway: Gateway) -> None:
    client = gateway.client()
    created = client.responses.create(model=ECHO, input="keep me")
    retrieved = client.responses.retrieve(created.id)
    assert retrieved.model_dump() == created.model_dump()
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=ECHO, previous_response_id=created.id, input="again")
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_streamed_response_is_stored_before_its_last_event(gateway: Gateway) -> None:
    client = gateway.client()
    with client.responses.stream(model=ECHO, input="store the stream") as stream:
        for event in stream:
            if event.type == "response.completed":
                stored = client.responses.retrieve(event.response.id)
                assert stored.output_text == "store the stream"
                assert stored.status == "completed"


def test_another_workspaces_response_is_unknown(gateway: Gateway) -> None:
    async def second_workspace(conn: Any) -> str:
        workspace_id = await accounts.create_workspace(conn, "Other", "team")
        await accounts.add_member(conn, gateway.user_id, workspace_id, "owner")
        return workspace_id

    other = gateway.db(second_workspace)
    mine = gateway.client().responses.create(model=ECHO, input="private")
    elsewhere = gateway.client(default_headers={"x-writingmate-workspace": other})
    with pytest.raises(openai.NotFoundError):
        elsewhere.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        elsewhere.responses.delete(mine.id)
    with pytest.raises(openai.BadRequestError) as caught:
        elsewhere.responses.create(model=ECHO, previous_response_id=mine.id, input="hi")
    assert caught.value.code == "previous_response_not_found"
    assert gateway.client().responses.retrieve(mine.id).id == mine.id


# ---------------------------------------------------------------------------- structured output


class Echoed(pydantic.BaseModel):
    echo: str


def test_text_format_json_schema_parses_with_the_sdk(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    parsed = gateway.client().responses.parse(model=ECHO, input="Hi there", text_format=Echoed)
    assert parsed.output_parsed == Echoed(echo="Hi there")
    assert parsed.text.format.type == "json_schema"
    fake_openai.reply('{"echo": "from upstream"}')
    upstream = gateway.client().responses.parse(model=OPENAI, input="Hi", text_format=Echoed)
    assert upstream.output_parsed == Echoed(echo="from upstream")
    response_format = fake_openai.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Echoed"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["echo"]


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": ECHO, "input": "x", "temperature": 5}, "temperature"),
        ({"model": ECHO, "input": "x", "max_output_tokens": 3}, "max_output_tokens"),
        (
            {"model": ECHO, "input": "x", "previous_response_id": "resp_nope"},
            "previous_response_id",
        ),
    ],
)
def test_invalid_request_is_a_400_naming_the_param(
    gateway: Gateway, body: dict[str, Any], param: str
) -> None:
    with gateway.http() as http:
        response = http.post("/responses", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_unknown_model_is_a_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().responses.create(model="nobody/nothing", input="x")
    assert caught.value.code == "model_not_found"


def test_exhausted_daily_limit_is_429(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(daily_limit=1)
    raw = gateway.client().responses.with_raw_response.create(model=ECHO, input="one")
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client().responses.create(model=ECHO, input="two")
    assert caught.value.code == "insufficient_quota"


def test_method_not_allowed_lists_every_method_of_the_path(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.request("PUT", "/responses/resp_abc")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


# ---------------------------------------------------------------------------- other providers

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


def test_client_leaving_a_stream_is_metered_and_nothing_is_stored(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("a b c d e f g h", hang_after=3)
    with (
        gateway.http() as http,
        http.stream(
            "POST", "/responses", json={"model": OPENAI, "input": "Hi", "stream": True}
        ) as response,
    ):
        lines = response.iter_lines()
        assert next(lines) == "event: response.created"
        created = json.loads(next(lines).removeprefix("data: "))
    assert fake_openai.wait_for_disconnect(timeout=5)
    [row] = wait_for_ledger(gateway, 1)
    assert (row["endpoint"], row["status"], row["messages"]) == (
        "responses",
        "client_disconnected",
        1,
    )
    with pytest.raises(openai.NotFoundError):
        gateway.client().responses.retrieve(created["response"]["id"])


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if server_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    with local_postgres() as admin_url:
        name = f"t_{secrets.token_hex(6)}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        yield url


def test_conversations_are_stored_and_continued_on_postgres(
    postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(tmp_path),
        }
    )
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        first = client.responses.create(
            model=ECHO, input='get_weather {"city": "Rome"}', tools=[WEATHER]
        )
        second = client.responses.create(
            model=ECHO,
            previous_response_id=first.id,
            input=[
                {
                    "type": "function_call_output",
                    "call_id": first.output[0].call_id,
                    "output": "21C",
                }
            ],
        )
        assert second.output_text == "Tool result: 21C"
        assert client.responses.retrieve(second.id).model_dump() == second.model_dump()
        client.responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)
