"""Gemini's errors inside a 200 stream keep the status they carry: a 503 stays 503, a 429
stays 429 with its wait, whether Gemini frames the error as an event or, as it really ends a
failing stream, writes it bare (pretty-printed JSON without `data:`)."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.gemini_errors import default_error
from tests.fakes.gemini_upstream import FakeGeminiUpstream

MODEL = "google/gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def fake(fake_gemini: FakeGeminiUpstream) -> FakeGeminiUpstream:
    return fake_gemini


@pytest.fixture
def gateway(gemini_gateway: Gateway) -> Gateway:
    return gemini_gateway


def stream_all(gateway: Gateway) -> list[str]:
    stream = gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    return [c.choices[0].delta.content or "" for c in stream if c.choices]


@pytest.mark.parametrize("bare", [True, False], ids=["bare JSON", "data event"])
def test_a_503_before_any_output_is_a_503(
    gateway: Gateway, fake: FakeGeminiUpstream, bare: bool
) -> None:
    fake.reply("never", stream_error=default_error(503), bare_error=bare, error_after_events=0)
    with pytest.raises(openai.InternalServerError) as caught:
        stream_all(gateway)
    assert caught.value.status_code == 503
    assert caught.value.code == "upstream_unavailable"
    assert "overloaded" in caught.value.message
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 503, 0)


def test_a_429_before_any_output_is_a_429_with_its_wait(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.reply("never", stream_error=default_error(429), bare_error=True, error_after_events=0)
    with pytest.raises(openai.RateLimitError) as caught:
        stream_all(gateway)
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("37", "37000")
    assert caught.value.code == "rate_limit_exceeded"


def test_a_bare_error_after_output_ends_the_stream_with_an_error_event(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.reply(
        "one two three",
        chunks=["one", " two", " three"],
        stream_error=default_error(503),
        bare_error=True,
        error_after_events=2,
    )
    stream = gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(received) == "one two"
    assert "overloaded" in caught.value.message
    assert (
        isinstance(caught.value.body, dict) and caught.value.body["code"] == "upstream_unavailable"
    )
    [row] = gateway.ledger()
    assert row["status"] == "interrupted" and row["messages"] >= 1
