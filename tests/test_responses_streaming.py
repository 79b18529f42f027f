"""Streamed `POST /responses`, through the gateway with the official OpenAI SDK and as raw SSE:
the event sequence and its numbering, usage from the upstream, failures before, during and
without a stream, and a client that leaves mid-stream."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.responses_helpers import ECHO, OPENAI, collapsed, raw_events
from tests.spec_helpers import errors

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


def wait_for_ledger(gateway: Gateway, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The ledger once it has `count` rows (a stream is settled after its client left)."""
    deadline = time.monotonic() + timeout
    while len(rows := gateway.ledger()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


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
