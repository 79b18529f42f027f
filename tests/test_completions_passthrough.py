"""Legacy completions on a completions model (`openai/gpt-3.5-turbo-instruct` on the fake
upstream's `/v1/completions`), passed through and relabelled: the fake itself, logprobs and
token prompts, streams, upstream errors, and a client leaving a stream (on a chat model too)."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.completions_helpers import CHAT_MODEL, INSTRUCT, sse_payloads
from tests.conftest import UPSTREAM_KEY, Gateway, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream


def test_fake_upstream_speaks_openais_legacy_completions(fake_openai: FakeOpenAIUpstream) -> None:
    """The fake itself, checked with the official SDK."""
    client = openai.OpenAI(base_url=f"{fake_openai.base_url}/v1", api_key=UPSTREAM_KEY)
    completion = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=["a b", "c"], n=2, logprobs=2
    )
    assert [c.index for c in completion.choices] == [0, 1, 2, 3]
    assert completion.choices[0].logprobs.tokens == [" a", " b"]
    assert completion.choices[0].logprobs.text_offset == [0, 2]
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="x y",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x", echo=True, logprobs=1)


def test_completions_model_is_passed_through_and_relabelled(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" test.", prompt_tokens=5, completion_tokens=2)
    raw = gateway.client().completions.with_raw_response.create(
        model=INSTRUCT,
        prompt="Say this is a",
        suffix=" Done.",
        echo=True,
        max_tokens=7,
        user="user-1234",
        extra_body={"some_future_field": 1},
    )
    completion = raw.parse()
    assert completion.model == INSTRUCT and completion.id.startswith("cmpl-")
    assert completion.choices[0].text == "Say this is a test."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 2)
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [request] = fake_openai.requests
    assert request.path == "/v1/completions"
    assert completion.id not in json.dumps(request.body)
    sent = request.body
    assert sent["model"] == "gpt-3.5-turbo-instruct"
    assert (sent["suffix"], sent["echo"], sent["max_tokens"]) == (" Done.", True, 7)
    assert sent["some_future_field"] == 1 and sent["stream"] is False
    [row] = gateway.ledger()
    assert (row["endpoint"], row["model"], row["provider"]) == ("completions", INSTRUCT, "openai")


def test_passed_through_logprobs_and_token_prompts_reach_the_client(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    completion = gateway.client().completions.create(
        model=INSTRUCT, prompt=[[1212, 318], [257]], logprobs=1
    )
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.choices[0].logprobs.tokens == [" 1212", " 318"]
    assert completion.choices[0].logprobs.top_logprobs == [{" 1212": -0.5}, {" 318": -0.5}]
    assert fake_openai.requests[0].body["prompt"] == [[1212, 318], [257]]


def test_passed_through_stream_asks_for_usage_but_gives_it_only_when_asked(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" one two three", prompt_tokens=3, completion_tokens=3)
    chunks = list(gateway.client().completions.create(model=INSTRUCT, prompt="count:", stream=True))
    sent = fake_openai.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert all(c.usage is None and c.choices for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("cmpl-")
    assert {c.model for c in chunks} == {INSTRUCT}
    assert "".join(c.choices[0].text for c in chunks) == " one two three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"]) == (3, 3, False)

    fake_openai.reply(" four", prompt_tokens=3, completion_tokens=1)
    *_, usage_chunk = gateway.client().completions.create(
        model=INSTRUCT, prompt="count:", stream=True, stream_options={"include_usage": True}
    )
    assert usage_chunk.choices == [] and usage_chunk.usage.completion_tokens == 1


def test_passed_through_upstream_error_keeps_its_param(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().completions.create(model=INSTRUCT, prompt="x", echo=True, logprobs=1)
    assert "echo" in caught.value.message
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"]) == ("upstream_error", 400)


def test_passed_through_stream_failing_midway_ends_with_an_error_event(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" a b c d", error_after=2)
    with gateway.http() as http:
        response = http.post(
            "/completions", json={"model": INSTRUCT, "prompt": "go", "stream": True}
        )
    payloads, last = sse_payloads(response.text + "\n\n")
    assert last.startswith("data: {") and json.loads(last[6:])["error"]["type"] == "upstream_error"
    assert "".join(p["choices"][0]["text"] for p in payloads) == " a b"
    [row] = gateway.ledger()
    assert (row["status"], row["usage_estimated"]) == ("interrupted", True)
    assert row["completion_tokens"] > 0


def test_a_completions_only_model_is_not_a_chat_model(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().chat.completions.create(
            model=INSTRUCT, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.code == "model_not_supported"


@pytest.mark.parametrize("model", [INSTRUCT, CHAT_MODEL])
def test_client_leaving_a_stream_cancels_the_upstream_call_and_meters_what_was_sent(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, model: str
) -> None:
    fake_openai.reply(" a b c d e f g h", hang_after=3)
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            f"{gateway.base_url}/completions",
            json={"model": model, "prompt": "go on", "stream": True},
            headers={"Authorization": f"Bearer {gateway.key}"},
        ) as response,
    ):
        assert next(response.iter_lines()).startswith("data: ")
    assert fake_openai.wait_for_disconnect(timeout=5)
    assert wait_for(lambda: len(gateway.ledger()) == 1)
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["http_status"]) == (
        "completions",
        "client_disconnected",
        499,
    )
    assert row["usage_estimated"] is True and row["prompt_tokens"] > 0
