"""Gemini embeddings end to end: the official `openai` SDK asks the gateway, which calls the
fake Gemini upstream's `batchEmbedContents` (tests/fakes/gemini_embeddings.py)."""

from __future__ import annotations

import math

import openai
import pytest

from domain.tokens import estimate_tokens
from tests.conftest import GEMINI_KEY, Gateway
from tests.fakes import gemini_embeddings
from tests.fakes.gemini_errors import google_error
from tests.fakes.gemini_upstream import FakeGeminiUpstream

MODEL = "google/gemini-embedding-001"
UPSTREAM_ID = "gemini-embedding-001"


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


@pytest.fixture
def fake(fake_gemini: FakeGeminiUpstream) -> FakeGeminiUpstream:
    return fake_gemini


@pytest.fixture
def gateway(gemini_gateway: Gateway) -> Gateway:
    return gemini_gateway


def test_a_list_goes_out_as_one_batch_and_comes_back_in_order(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    texts = ["first text", "second text"]
    raw = gateway.client().embeddings.with_raw_response.create(model=MODEL, input=texts)
    response = raw.parse()
    [sent] = fake.requests
    assert sent.path == f"/v1beta/models/{UPSTREAM_ID}:batchEmbedContents"
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY
    assert sent.body == {
        "requests": [
            {"model": f"models/{UPSTREAM_ID}", "content": {"parts": [{"text": t}]}} for t in texts
        ]
    }
    assert response.model == MODEL
    for item, text in zip(response.data, texts, strict=True):
        expected = gemini_embeddings.values(UPSTREAM_ID, text, None)
        assert item.embedding == pytest.approx(expected, abs=1e-6)


def test_gemini_reports_no_usage_so_the_gateway_estimates_and_says_so(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    raw = gateway.client().embeddings.with_raw_response.create(model=MODEL, input=text)
    tokens = estimate_tokens(text)
    assert raw.parse().usage.prompt_tokens == tokens
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert (row["endpoint"], row["provider"], row["model"]) == ("embeddings", "google", MODEL)
    assert (row["prompt_tokens"], row["messages"], row["usage_estimated"]) == (tokens, 1, True)


def test_usage_metadata_is_used_when_gemini_sends_it(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.reply_embeddings(prompt_tokens=7)
    response = gateway.client().embeddings.create(model=MODEL, input="hi")
    assert response.usage.prompt_tokens == 7
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["usage_estimated"]) == (7, False)


def test_dimensions_become_output_dimensionality_and_vectors_are_normalised(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    response = gateway.client().embeddings.create(model=MODEL, input="hi", dimensions=768)
    assert fake.requests[-1].body["requests"][0]["outputDimensionality"] == 768
    vector = response.data[0].embedding
    assert len(vector) == 768 and norm(vector) == pytest.approx(1, abs=1e-6)  # Google's is not


def test_more_than_a_hundred_inputs_go_out_in_batches_and_keep_their_order(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    texts = [f"text number {i}" for i in range(250)]
    response = gateway.client().embeddings.create(
        model=MODEL, input=texts, dimensions=8, encoding_format="float"
    )
    sizes = sorted(len(r.body["requests"]) for r in fake.requests)
    assert sizes == [50, 100, 100]
    assert [d.index for d in response.data] == list(range(250))
    for item, text in zip(response.data, texts, strict=True):
        expected = gemini_embeddings.values(UPSTREAM_ID, text, 8)
        scale = norm(expected)
        assert item.embedding == pytest.approx([x / scale for x in expected], abs=1e-6)


def test_token_ids_are_decoded_to_text_for_gemini(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    gateway.client().embeddings.create(model=MODEL, input=[[9906, 1917], [15339]])
    parts = [r["content"]["parts"][0]["text"] for r in fake.requests[-1].body["requests"]]
    assert parts == ["Hello world", "hello"]


def test_unknown_token_ids_are_refused_before_calling_gemini(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().embeddings.create(model=MODEL, input=[-1, 5])
    assert caught.value.param == "input"
    assert fake.requests == []


def test_geminis_refusal_is_a_400(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().embeddings.create(model=MODEL, input="hi", dimensions=5000)
    assert "output_dimensionality" in caught.value.message


def test_rate_limit_carries_retry_after_ms(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client().embeddings.create(model=MODEL, input="hi")
    assert caught.value.response.headers["retry-after-ms"] == "37000"
    [row] = gateway.ledger()
    assert (row["status"], row["messages"]) == ("upstream_error", 0)


def test_a_failing_batch_fails_the_whole_request(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.reply_embeddings()
    fake.fail(503, google_error(503, "The model is overloaded."))
    with pytest.raises(openai.InternalServerError) as caught:
        gateway.client().embeddings.create(model=MODEL, input=["x"] * 150)
    assert caught.value.status_code == 503


def test_a_bad_gateway_key_is_a_502_not_the_callers_400(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.api_key = "AIza-another-key"
    try:
        with pytest.raises(openai.APIStatusError) as caught:
            gateway.client().embeddings.create(model=MODEL, input="hi")
    finally:
        fake.api_key = GEMINI_KEY
    assert caught.value.status_code == 502
