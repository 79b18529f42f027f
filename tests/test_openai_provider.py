"""The OpenAI provider through the gateway, against a fake OpenAI upstream on loopback that
speaks the real wire format, driven by the official SDK."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY, Gateway, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream

MODEL = "openai/gpt-5-mini"
HELLO = [{"role": "user", "content": "Hello"}]


def test_request_goes_upstream_with_the_upstream_id_and_its_key(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Hi!", prompt_tokens=9, completion_tokens=2)
    completion = gateway.client().chat.completions.create(
        model=MODEL, messages=HELLO, temperature=0.2
    )
    assert completion.choices[0].message.content == "Hi!"
    assert completion.model == MODEL
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert request.body["model"] == "gpt-5-mini"
    assert request.body["temperature"] == 0.2
    assert request.body["stream"] is False
    assert "stream_options" not in request.body  # OpenAI refuses it without stream


def test_a_stream_always_asks_the_upstream_for_usage(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    list(gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    [request] = fake_openai.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_cached_tokens_are_reported_and_discounted_in_messages(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("ok", prompt_tokens=19_000, completion_tokens=3_000, cached_tokens=4_000)
    raw = gateway.client().chat.completions.with_raw_response.create(model=MODEL, messages=HELLO)
    completion = raw.parse()
    assert completion.usage.prompt_tokens_details.cached_tokens == 4_000
    assert raw.headers["x-writingmate-messages-counted"] == "2"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (
        19_000,
        3_000,
        4_000,
    )
    assert row["messages"] == 2 and row["usage_estimated"] is False


def test_streamed_usage_with_cached_tokens_reaches_the_client(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(
        "streamed words here", prompt_tokens=50, completion_tokens=3, cached_tokens=20
    )
    chunks = list(
        gateway.client().chat.completions.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "streamed words here"
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 20
    assert len({c.id for c in chunks}) == 1


def test_stream_without_include_usage_is_still_metered(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("abc", prompt_tokens=40_000, completion_tokens=10)
    chunks = list(
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    [row] = gateway.ledger()
    assert row["prompt_tokens"] == 40_000 and row["messages"] == 3


def test_streamed_tool_calls_pass_through(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(tool_calls=[("get_weather", '{"city": "Paris"}'), ("get_time", "{}")])
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
    with gateway.client().chat.completions.stream(
        model=MODEL, messages=HELLO, tools=[tool]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_non_streamed_tool_calls_pass_through(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(tool_calls=[("get_weather", '{"city": "Rome"}')])
    completion = gateway.client().chat.completions.create(
        model=MODEL,
        messages=HELLO,
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
    )
    [call] = completion.choices[0].message.tool_calls
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.choices[0].message.content is None


@pytest.mark.parametrize(
    ("upstream_status", "exception", "status"),
    [
        (400, openai.BadRequestError, 400),
        (401, openai.InternalServerError, 502),
        (429, openai.RateLimitError, 429),
        (500, openai.InternalServerError, 502),
        (503, openai.InternalServerError, 503),
    ],
)
def test_upstream_errors_map_to_openai_errors(
    gateway: Gateway,
    fake_openai: FakeOpenAIUpstream,
    upstream_status: int,
    exception: type,
    status: int,
) -> None:
    fake_openai.fail(upstream_status)
    with pytest.raises(exception) as caught:
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == status
    assert set(caught.value.body) >= {"message", "type", "param", "code"}
    [row] = gateway.ledger()
    assert row["status"] == "upstream_error" and row["messages"] == 0


def test_rate_limit_passes_retry_after_ms(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(429)
    with gateway.http() as http:
        response = http.post("/chat/completions", json={"model": MODEL, "messages": HELLO})
    assert response.status_code == 429
    assert float(response.headers["retry-after-ms"]) > 0
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_stream_that_fails_before_output_is_a_json_error(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(503)
    with gateway.http() as http:
        response = http.post(
            "/chat/completions", json={"model": MODEL, "messages": HELLO, "stream": True}
        )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "upstream_error"


def test_mid_stream_failure_sends_an_error_event_and_meters_what_was_sent(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("one two three four five six", error_after=3)
    stream = gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    [row] = gateway.ledger()
    assert row["status"] == "interrupted"
    assert row["messages"] == 1 and row["usage_estimated"] is True


def test_client_disconnect_cancels_upstream_and_meters_the_part_sent(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("a b c d e f g h", hang_after=3)
    body = {"model": MODEL, "messages": HELLO, "stream": True}
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            f"{gateway.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {gateway.key}"},
        ) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    assert fake_openai.wait_for_disconnect(timeout=5)
    assert wait_for(lambda: len(gateway.ledger()) == 1)
    [row] = gateway.ledger()
    assert row["status"] == "client_disconnected"
    assert row["usage_estimated"] is True
    assert row["prompt_tokens"] > 0 and row["messages"] == 1


def test_upstream_unreachable_is_503(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(env={"WMGW_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    with pytest.raises(openai.InternalServerError) as caught:
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == 503


def test_models_of_an_unconfigured_provider_are_hidden(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(env={"WMGW_OPENAI_API_KEY": ""})
    ids = [m.id for m in gateway.client().models.list()]
    assert "writingmate/echo" in ids
    assert {i.split("/")[0] for i in ids} == {"writingmate"}  # only the built-in models
    with pytest.raises(openai.NotFoundError):
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO)
