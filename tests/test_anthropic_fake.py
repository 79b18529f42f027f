"""The fake Anthropic upstream is faithful: the official `anthropic` SDK, pointed at it, parses
its messages, streams, tool calls, usage and errors as it would Anthropic's."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream

KEY = "sk-ant-fake-test-key"
MODEL = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there"}]
TOOL = {
    "name": "get_weather",
    "description": "Weather by city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropicUpstream]:
    fake = FakeAnthropicUpstream(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(server: FakeAnthropicUpstream) -> FakeAnthropicUpstream:
    server.reset()
    return server


def client(fake: FakeAnthropicUpstream, key: str = KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.base_url, api_key=key, max_retries=0)


def test_a_message_parses_with_usage(fake: FakeAnthropicUpstream) -> None:
    fake.reply("Hi!", input_tokens=10, output_tokens=2, cache_read=30, cache_creation=5)
    message = client(fake).messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text" and message.content[0].text == "Hi!"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 10
    assert message.usage.cache_read_input_tokens == 30
    assert message.usage.cache_creation_input_tokens == 5
    [request] = fake.requests
    assert request.headers["anthropic-version"]
    assert request.body["max_tokens"] == 64


def test_a_stream_assembles_into_the_same_message(fake: FakeAnthropicUpstream) -> None:
    fake.reply("streamed words here", thinking="hmm", cache_read=7)
    with client(fake).messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "streamed words here"
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "hmm" and final.content[0].signature
    assert final.stop_reason == "end_turn"
    assert final.usage.cache_read_input_tokens == 7


def test_streamed_tool_calls_parse(fake: FakeAnthropicUpstream) -> None:
    fake.reply(tool_uses=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    with client(fake).messages.stream(
        model=MODEL, max_tokens=64, messages=HELLO, tools=[TOOL]
    ) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert all(u.id.startswith("toolu_") for u in uses)
    assert final.stop_reason == "tool_use"


def test_unscripted_it_calls_the_forced_tool(fake: FakeAnthropicUpstream) -> None:
    message = client(fake).messages.create(
        model=MODEL,
        max_tokens=64,
        messages=HELLO,
        tools=[TOOL, {**TOOL, "name": "other"}],
        tool_choice={"type": "tool", "name": "other"},
    )
    assert message.content[0].type == "tool_use" and message.content[0].name == "other"


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.OverloadedError),
    ],
)
def test_errors_raise_the_sdks_exceptions(
    fake: FakeAnthropicUpstream, status: int, exception: type
) -> None:
    fake.fail(status)
    with pytest.raises(exception) as caught:
        client(fake).messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.body["type"] == "error"  # type: ignore[attr-defined]
    if status == 429:
        assert caught.value.response.headers["retry-after"]  # type: ignore[attr-defined]


def test_a_wrong_key_is_refused(fake: FakeAnthropicUpstream) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        client(fake, key="sk-ant-wrong").messages.create(model=MODEL, max_tokens=8, messages=HELLO)


def test_a_request_without_max_tokens_is_refused(fake: FakeAnthropicUpstream) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        json={"model": MODEL, "messages": HELLO},
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


def test_a_mid_stream_error_event_raises(fake: FakeAnthropicUpstream) -> None:
    fake.reply("one two three four", error_after=4)
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client(fake).messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream,
    ):
        for _ in stream:
            pass
    assert "Overloaded" in str(caught.value)
