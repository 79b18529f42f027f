"""The Anthropic provider through the gateway, end to end: the official `openai` SDK talks to a
real gateway, which talks to a fake Anthropic upstream on loopback speaking the Messages API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import openai
import pydantic
import pytest

from tests.conftest import Gateway
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream

KEY = "sk-ant-upstream-test-key"
MODEL = "anthropic/claude-haiku-4.5"
HELLO = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[FakeAnthropicUpstream]:
    fake = FakeAnthropicUpstream(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(anthropic_server: FakeAnthropicUpstream) -> FakeAnthropicUpstream:
    anthropic_server.reset()
    return anthropic_server


@pytest.fixture
def gw(start_gateway: Callable[..., Gateway], fake: FakeAnthropicUpstream) -> Gateway:
    return start_gateway(
        env={"WMGW_ANTHROPIC_API_KEY": KEY, "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url)}
    )


def test_plain_completion_goes_to_messages_with_key_version_and_max_tokens(
    gw: Gateway, fake: FakeAnthropicUpstream
) -> None:
    fake.reply("Hi there!", input_tokens=9, output_tokens=3)
    completion = gw.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        temperature=0.2,
        stop=["END"],
    )
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "Hi there!"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 3)
    [request] = fake.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hello"}],
        "system": "Be brief.",
        "stop_sequences": ["END"],
        "temperature": 0.2,
    }


def test_streamed_text(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.reply("streamed words here")
    chunks = list(gw.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed words here"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1 and {c.model for c in chunks} == {MODEL}
    assert fake.requests[0].body["stream"] is True


def test_max_tokens_stop_is_length(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.reply("cut", stop_reason="max_tokens")
    completion = gw.client().chat.completions.create(model=MODEL, messages=HELLO, max_tokens=5)
    assert completion.choices[0].finish_reason == "length"
    assert fake.requests[0].body["max_tokens"] == 5


@pytest.mark.parametrize("stream", [False, True])
def test_usage_with_cached_tokens(gw: Gateway, fake: FakeAnthropicUpstream, stream: bool) -> None:
    fake.reply("ok", input_tokens=100, output_tokens=7, cache_read=4000, cache_creation=500)
    client = gw.client()
    if stream:
        chunks = list(
            client.chat.completions.create(
                model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
        )
        assert chunks[-1].choices == []
        usage = chunks[-1].usage
    else:
        usage = client.chat.completions.create(model=MODEL, messages=HELLO).usage
    assert usage.prompt_tokens == 4600 and usage.completion_tokens == 7
    assert usage.prompt_tokens_details.cached_tokens == 4000
    [row] = gw.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (4600, 7, 4000)
    assert row["usage_estimated"] is False


def test_streamed_parallel_tool_calls(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.reply(tool_uses=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    with gw.client().chat.completions.stream(
        model=MODEL, messages=HELLO, tools=[WEATHER], tool_choice="required"
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert json.loads(calls[1].function.arguments) == {}
    assert all(c.id.startswith("toolu_") for c in calls)
    assert final.choices[0].finish_reason == "tool_calls"
    body = fake.requests[0].body
    assert body["tool_choice"] == {"type": "any"}
    assert body["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]  # type: ignore[index]


def test_tool_loop_non_streamed(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    client = gw.client()
    first = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    [call] = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    fake.reply("It is 18C in Paris.")
    second = client.chat.completions.create(
        model=MODEL,
        messages=[
            *HELLO,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18C"},
        ],
        tools=[WEATHER],
    )
    assert second.choices[0].message.content == "It is 18C in Paris."
    sent = fake.requests[1].body["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {}}],
    }
    assert sent[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C"}],
    }


def test_images_in(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.reply("A cat.")
    gw.client().chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                ],
            }
        ],
    )
    blocks = fake.requests[0].body["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.png"},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
    }


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_out(gw: Gateway, fake: FakeAnthropicUpstream, stream: bool) -> None:
    fake.reply(tool_uses=[("City", {"name": "Paris", "population": 2100000})])
    client = gw.client()
    if stream:
        with client.chat.completions.stream(
            model=MODEL, messages=HELLO, response_format=City
        ) as events:
            final = events.get_final_completion()
    else:
        final = client.chat.completions.parse(model=MODEL, messages=HELLO, response_format=City)
    message = final.choices[0].message
    assert message.parsed == City(name="Paris", population=2100000)
    assert not message.tool_calls and final.choices[0].finish_reason == "stop"
    body = fake.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "City"}
    assert body["tools"][0]["input_schema"]["properties"].keys() == {"name", "population"}


def test_reasoning_effort_thinks_and_returns_reasoning(
    gw: Gateway, fake: FakeAnthropicUpstream
) -> None:
    fake.reply("42", thinking="Let me think.")
    completion = gw.client().chat.completions.create(
        model=MODEL, messages=HELLO, reasoning_effort="medium"
    )
    assert completion.choices[0].message.content == "42"
    assert completion.choices[0].message.model_extra["reasoning_content"] == "Let me think."
    body = fake.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] > 4096


@pytest.mark.parametrize(
    ("status", "exception", "our_status"),
    [
        (400, openai.BadRequestError, 400),
        (401, openai.InternalServerError, 502),
        (429, openai.RateLimitError, 429),
        (500, openai.InternalServerError, 502),
        (529, openai.InternalServerError, 503),
    ],
)
def test_upstream_errors(
    gw: Gateway, fake: FakeAnthropicUpstream, status: int, exception: type, our_status: int
) -> None:
    fake.fail(status, message="Upstream says no")
    with pytest.raises(exception) as caught:
        gw.client().chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == our_status
    assert set(caught.value.body) >= {"message", "type", "param", "code"}
    assert "Upstream says no" in caught.value.body["message"]
    [row] = gw.ledger()
    assert row["status"] == "upstream_error" and row["messages"] == 0


def test_overloaded_is_retried_by_the_sdk(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.fail(529)
    fake.reply("Recovered")
    client = gw.client(max_retries=1)
    completion = client.chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.choices[0].message.content == "Recovered"
    assert len(fake.requests) == 2


def test_rate_limit_passes_retry_after(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.fail(429)
    with gw.http() as http:
        response = http.post("/chat/completions", json={"model": MODEL, "messages": HELLO})
    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == "7000"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_refused_parameter_is_a_400_before_any_upstream_call(
    gw: Gateway, fake: FakeAnthropicUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gw.client().chat.completions.create(model=MODEL, messages=HELLO, n=2)
    assert caught.value.body["param"] == "n"
    assert fake.requests == []


def test_stream_that_fails_before_output_is_a_json_error(
    gw: Gateway, fake: FakeAnthropicUpstream
) -> None:
    fake.fail(529)
    with gw.http() as http:
        response = http.post(
            "/chat/completions", json={"model": MODEL, "messages": HELLO, "stream": True}
        )
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "upstream_error"


def test_mid_stream_error_event_reaches_the_client(
    gw: Gateway, fake: FakeAnthropicUpstream
) -> None:
    fake.reply("one two three four five", error_after=5)
    stream = gw.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received).startswith("one")
    assert "Overloaded" in str(caught.value)
    [row] = gw.ledger()
    assert row["status"] == "interrupted" and row["usage_estimated"] is True


def test_model_is_listed_when_configured(gw: Gateway) -> None:
    ids = [m.id for m in gw.client().models.list()]
    assert MODEL in ids


def test_raw_stream_framing(gw: Gateway, fake: FakeAnthropicUpstream) -> None:
    fake.reply("a b")
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            f"{gw.base_url}/chat/completions",
            json={"model": MODEL, "messages": HELLO, "stream": True},
            headers={"Authorization": f"Bearer {gw.key}"},
        ) as response,
    ):
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
