"""The fake OpenAI upstream fails as OpenAI does, proved with the official ``openai`` SDK: its
errors map to the SDK's exceptions (and its retries), and its timing and disconnects are
those the gateway's cancellation tests rely on. Fixtures: tests/fake_openai_upstream_helpers.py."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.fake_openai_upstream_helpers import API_KEY, MODEL, USER
from tests.fakes.openai_errors import insufficient_quota_error
from tests.fakes.openai_upstream import FakeOpenAIUpstream

# ---------------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------------


def test_wrong_key_is_authentication_error(fake: FakeOpenAIUpstream, base_url: str) -> None:
    sdk = openai.OpenAI(base_url=base_url, api_key="sk-wrong-key-123456", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=USER)
    error = caught.value
    assert error.status_code == 401 and error.code == "invalid_api_key"
    assert isinstance(error.body, dict)
    assert error.body["message"].startswith("Incorrect API key provided: sk-")
    assert "sk-wrong-key-123456" not in error.body["message"]
    assert error.body["type"] == "invalid_request_error" and error.body["param"] is None
    assert error.response.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_async_wrong_key(fake: FakeOpenAIUpstream, base_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-nope", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.models.list()


def test_rate_limit_error(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER)
    error = caught.value
    assert error.status_code == 429
    assert (error.code, error.type) == ("rate_limit_exceeded", "requests")
    assert error.message.startswith("Error code: 429") and "Rate limit reached" in error.message
    headers = error.response.headers
    assert headers["retry-after"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-limit-requests"] == "500"
    assert error.request_id == headers["x-request-id"]


def test_insufficient_quota_with_custom_headers(
    fake: FakeOpenAIUpstream, client: openai.OpenAI
) -> None:
    fake.fail(429, insufficient_quota_error(), headers={"x-should-retry": "false"})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "retry-after" not in caught.value.response.headers


def test_sdk_retries_after_429_then_succeeds(fake: FakeOpenAIUpstream, base_url: str) -> None:
    fake.fail(429, headers={"retry-after-ms": "10"})
    fake.reply("finally")
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=2) as sdk:
        completion = sdk.chat.completions.create(model=MODEL, messages=USER)
    assert completion.choices[0].message.content == "finally"
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]
    assert fake.pending == 0


def test_internal_server_error(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.fail(500)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert caught.value.response.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_async_overloaded(fake: FakeOpenAIUpstream, aclient: openai.AsyncOpenAI) -> None:
    fake.fail(503)
    with pytest.raises(openai.InternalServerError) as caught:
        await aclient.chat.completions.create(model=MODEL, messages=USER)
    assert caught.value.status_code == 503
    assert "overloaded" in caught.value.message


def test_error_in_mid_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("a b c d e", error_after=2)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    assert "The server had an error" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Timing and disconnects (what the gateway's cancellation tests rely on).
# ---------------------------------------------------------------------------------------------


def test_slow_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("a b c d", chunk_delay=0.05)
    started = time.monotonic()
    chunks = list(client.chat.completions.create(model=MODEL, messages=USER, stream=True))
    assert len(chunks) == 6  # role, 4 pieces, finish
    assert time.monotonic() - started >= 0.05 * 5


def test_client_closing_stream_is_recorded(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("never finished", hang_after=2)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    iterator = iter(stream)
    next(iterator)
    next(iterator)
    stream.close()
    assert fake.wait_for_disconnect(5)
    [call] = fake.calls
    assert call.stream and call.disconnected and not call.completed and call.chunks_sent == 2
    assert fake.disconnects == 1


@pytest.mark.asyncio
async def test_read_timeout_on_hung_stream(fake: FakeOpenAIUpstream, base_url: str) -> None:
    fake.reply("stuck", hang_after=1)
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key=API_KEY, max_retries=0, timeout=0.3
    ) as sdk:
        stream = await sdk.chat.completions.create(model=MODEL, messages=USER, stream=True)
        with pytest.raises((openai.APITimeoutError, httpx.ReadTimeout)):
            async for _ in stream:
                pass
    assert fake.wait_for_disconnect(5)
    assert fake.calls[0].chunks_sent == 1


@pytest.mark.asyncio
async def test_client_leaving_slow_non_stream_is_recorded(
    fake: FakeOpenAIUpstream, base_url: str
) -> None:
    fake.reply("too late", delay=2.0)
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key=API_KEY, max_retries=0, timeout=0.2
    ) as sdk:
        with pytest.raises(openai.APITimeoutError):
            await sdk.chat.completions.create(model=MODEL, messages=USER)
    assert await fake.wait_for_disconnect_async(5)
    [call] = fake.calls
    assert call.disconnected and not call.completed and not call.stream


def test_release_lets_hung_stream_finish(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("x y", hang_after=1)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    iterator = iter(stream)
    next(iterator)
    fake.release()
    rest = list(iterator)
    assert rest[-1].choices[0].finish_reason == "stop"
    assert fake.calls[0].completed and fake.disconnects == 0
