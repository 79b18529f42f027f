"""An upstream that repeats a credential in its error never hands it to a client: the key the
request went out with (the gateway's, whatever its shape) and anything shaped like a key are
scrubbed where upstream errors are mapped, streamed or not, before or during the stream."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from tests.conftest import GEMINI_KEY, Gateway
from tests.fakes.gemini_errors import google_error
from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_errors import openai_error
from tests.fakes.openai_upstream import FakeOpenAIUpstream

# The gateway's upstream key, shaped like no known key: only an exact match can catch it.
PLAIN_KEY = "correct-horse-battery-staple-42"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def plain_key_gateway(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> Gateway:
    fake_openai.api_key = PLAIN_KEY
    return start_gateway(env={"WMGW_OPENAI_API_KEY": PLAIN_KEY})


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_401_repeating_the_gateways_key_reaches_the_client_without_it(
    plain_key_gateway: Gateway, fake_openai: FakeOpenAIUpstream, stream: bool
) -> None:
    echoed = f"Incorrect API key provided: {PLAIN_KEY}. Also tried Bearer {PLAIN_KEY}."
    fake_openai.fail(401, openai_error(echoed, code="invalid_api_key"))
    with pytest.raises(openai.InternalServerError) as caught:
        result = plain_key_gateway.client().chat.completions.create(
            model="openai/gpt-4o-mini", messages=HELLO, stream=stream
        )
        list(result) if stream else None  # type: ignore[call-overload]
    assert caught.value.status_code == 502
    assert PLAIN_KEY not in caught.value.response.text
    assert "Incorrect API key provided: ***." in caught.value.message
    [request] = fake_openai.requests
    assert request.headers["authorization"] == f"Bearer {PLAIN_KEY}"  # it was the key sent


def test_a_mid_stream_error_repeating_the_key_reaches_the_client_without_it(
    plain_key_gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    error = openai_error(f"key {PLAIN_KEY} revoked mid-stream", type="server_error")
    fake_openai.reply("one two three", error_after=2, error=error)  # after "one"
    stream = plain_key_gateway.client().chat.completions.create(
        model="openai/gpt-4o-mini", messages=HELLO, stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    assert PLAIN_KEY not in str(caught.value.body)
    assert "key *** revoked mid-stream" in caught.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_a_gemini_error_repeating_its_key_reaches_the_client_without_it(
    gemini_gateway: Gateway, fake_gemini: FakeGeminiUpstream, stream: bool
) -> None:
    fake_gemini.fail(403, google_error(403, f"Key {GEMINI_KEY} may not call this model."))
    with pytest.raises(openai.InternalServerError) as caught:
        result = gemini_gateway.client().chat.completions.create(
            model="google/gemini-2.5-flash", messages=HELLO, stream=stream
        )
        list(result) if stream else None  # type: ignore[call-overload]
    assert caught.value.status_code == 502
    assert GEMINI_KEY not in caught.value.response.text
    assert "Key *** may not call this model." in caught.value.message
