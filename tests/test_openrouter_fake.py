"""The fake OpenRouter is faithful: the official openai SDK, pointed at `<fake>/api/v1`, reads
its answers, streams (keep-alive comments and all) and errors as it reads OpenRouter's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.openrouter_chat import KEEPALIVE
from tests.fakes.openrouter_upstream import FakeOpenRouter

KEY = "sk-or-v1-fake-test-key"
USER = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(server: FakeOpenRouter) -> FakeOpenRouter:
    server.reset()
    server.api_key = KEY
    return server


@pytest.fixture
def client(fake: FakeOpenRouter) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)


def test_plain_completion(fake: FakeOpenRouter, client: openai.OpenAI) -> None:
    fake.reply(
        "Paris.",
        reasoning="The capital of France",
        provider="Anthropic",
        prompt_tokens=194,
        completion_tokens=2,
        cached_tokens=50,
        cache_write_tokens=100,
        cost=0.95,
        native_finish_reason="end_turn",
    )
    answer = client.chat.completions.create(model="anthropic/claude-sonnet-4.5", messages=USER)
    assert answer.id.startswith("gen-")
    assert answer.model == "anthropic/claude-sonnet-4.5"
    assert answer.model_extra["provider"] == "Anthropic"
    choice = answer.choices[0]
    assert choice.message.content == "Paris."
    assert choice.finish_reason == "stop"
    assert choice.model_extra["native_finish_reason"] == "end_turn"
    assert choice.message.model_extra["reasoning"] == "The capital of France"
    usage = answer.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (194, 2, 196)
    assert usage.prompt_tokens_details.cached_tokens == 50
    assert usage.prompt_tokens_details.cache_write_tokens == 100
    assert usage.model_extra["cost"] == 0.95 and usage.model_extra["is_byok"] is False
    [request] = fake.requests
    assert request.path == "/api/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["messages"] == USER


def test_stream_skips_keepalives_and_ends_with_usage_unasked(
    fake: FakeOpenRouter, client: openai.OpenAI
) -> None:
    fake.reply(
        "Hello there friend",
        reasoning="thinking hard",
        keepalives_before=2,
        keepalives_between=1,
        prompt_tokens=5,
        completion_tokens=3,
        cached_tokens=2,
    )
    chunks = list(client.chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True))
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].id.startswith("gen-")
    assert all(c.model_extra["provider"] == "OpenAI" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks if c.choices
    )
    assert (text, reasoning) == ("Hello there friend", "thinking hard")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 8
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 2
    assert "stream_options" not in fake.requests[0].body


def test_raw_stream_has_keepalive_comments_and_done(fake: FakeOpenRouter) -> None:
    fake.reply("Hi", keepalives_before=1, keepalives_between=1)
    with httpx.stream(
        "POST",
        f"{fake.base_url}/chat/completions",
        json={"model": "openai/gpt-4o", "messages": USER, "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:
        raw = response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-generation-id"].startswith("gen-")
    assert raw.startswith(KEEPALIVE) and raw.count(KEEPALIVE) >= 3
    assert raw.endswith(b"data: [DONE]\n\n")


def test_tool_calls(fake: FakeOpenRouter, client: openai.OpenAI) -> None:
    args = '{"city": "Paris"}'
    fake.reply(tool_calls=[("get_weather", args)])
    answer = client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    [call] = answer.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_weather", args)
    assert answer.choices[0].finish_reason == "tool_calls"

    fake.reply(tool_calls=[("get_weather", args)])
    stream = client.chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True)
    calls = [tc for c in stream if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    assert "".join(c.function.arguments or "" for c in calls) == args


def test_mid_stream_error_chunk_ends_the_stream(fake: FakeOpenRouter) -> None:
    fake.reply("one two three", error_after=1)
    with httpx.stream(
        "POST",
        f"{fake.base_url}/chat/completions",
        json={"model": "openai/gpt-4o", "messages": USER, "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200
    last = json.loads(events[-1])
    assert last["error"]["message"] == "Provider disconnected"
    assert last["choices"][0]["finish_reason"] == "error"
    assert len(events) == 2  # one content chunk, the error, and no [DONE]


def test_402_and_429_raise_the_sdks_errors_with_openrouters_messages(
    fake: FakeOpenRouter, client: openai.OpenAI
) -> None:
    fake.fail(402)
    with pytest.raises(openai.APIStatusError) as credit:
        client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert credit.value.status_code == 402
    assert "Insufficient credits. Add more" in credit.value.message
    assert credit.value.body["code"] == 402
    assert credit.value.body["metadata"]["provider_name"] == "OpenAI"

    fake.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="openai/gpt-4o", messages=USER, stream=True)
    assert "Rate limit exceeded: free-models-per-min" in limited.value.message
    assert limited.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (403, openai.PermissionDeniedError),
        (408, openai.APIStatusError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_other_statuses(
    fake: FakeOpenRouter, client: openai.OpenAI, status: int, error: type[Exception]
) -> None:
    fake.fail(status)
    with pytest.raises(error) as raised:
        client.chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert raised.value.status_code == status  # type: ignore[attr-defined]
    assert raised.value.body["code"] == status  # type: ignore[attr-defined]


def test_wrong_or_missing_key_is_401(fake: FakeOpenRouter) -> None:
    wrong = openai.OpenAI(base_url=fake.base_url, api_key="sk-or-v1-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model="openai/gpt-4o", messages=USER)
    assert raised.value.body == {"code": 401, "message": "User not found."}
    response = httpx.post(f"{fake.base_url}/chat/completions", json={"model": "x"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": "No auth credentials found"}}
