"""The fake upstreams' embedding routes are faithful: the official SDKs (`openai`,
`google-genai`), pointed at them, read their vectors, usage and errors as they read the real
services'."""

from __future__ import annotations

import math
from collections.abc import Iterator

import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

OPENAI_KEY = "sk-fake-embeddings-key"
GEMINI_KEY = "AIza-fake-embeddings-key"


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAIUpstream]:
    fake = FakeOpenAIUpstream(api_key=OPENAI_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def openai_fake(openai_server: FakeOpenAIUpstream) -> FakeOpenAIUpstream:
    openai_server.reset()
    return openai_server


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[FakeGeminiUpstream]:
    fake = FakeGeminiUpstream(api_key=GEMINI_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def gemini_fake(gemini_server: FakeGeminiUpstream) -> FakeGeminiUpstream:
    gemini_server.reset()
    return gemini_server


def openai_client(fake: FakeOpenAIUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake.base_url}/v1", api_key=OPENAI_KEY, max_retries=0)


def genai_client(fake: FakeGeminiUpstream) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta")
    return genai.Client(api_key=GEMINI_KEY, http_options=options)


def test_openai_sdk_decodes_the_fakes_default_base64(openai_fake: FakeOpenAIUpstream) -> None:
    client = openai_client(openai_fake)
    response = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert openai_fake.requests[-1].body["encoding_format"] == "base64"
    [item] = response.data
    assert len(item.embedding) == 1536 and abs(norm(item.embedding) - 1) < 1e-5
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (2, 2)
    floats = client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(item.embedding, abs=1e-6)


def test_openai_fake_shortens_text_embedding_3_and_takes_token_lists(
    openai_fake: FakeOpenAIUpstream,
) -> None:
    client = openai_client(openai_fake)
    response = client.embeddings.create(
        model="text-embedding-3-large", input=[[9906, 1917], [15339]], dimensions=8
    )
    assert [len(d.embedding) for d in response.data] == [8, 8]
    assert [d.index for d in response.data] == [0, 1]
    assert response.usage.prompt_tokens == 3


def test_openai_fake_refuses_what_openai_refuses(openai_fake: FakeOpenAIUpstream) -> None:
    client = openai_client(openai_fake)
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=8)
    assert "does not support specifying dimensions" in caught.value.message
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="text-embedding-3-small", input="")
    openai_fake.fail(429)
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_openai_fake_can_play_a_server_that_only_sends_floats(
    openai_fake: FakeOpenAIUpstream,
) -> None:
    openai_fake.reply_embeddings(floats_only=True, usage=False)
    raw = openai_client(openai_fake).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="hi", encoding_format="base64"
    )
    body = raw.http_response.json()
    assert isinstance(body["data"][0]["embedding"], list) and "usage" not in body


def test_genai_sdk_embeds_a_batch_through_batch_embed_contents(
    gemini_fake: FakeGeminiUpstream,
) -> None:
    sdk = genai_client(gemini_fake)
    result = sdk.models.embed_content(
        model="gemini-embedding-001", contents=["first text", "second text"]
    )
    vectors = [e.values for e in result.embeddings]
    assert [len(v) for v in vectors] == [3072, 3072] and vectors[0] != vectors[1]
    assert abs(norm(vectors[0]) - 1) < 1e-9
    [request] = gemini_fake.requests
    assert request.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert request.body["requests"][0] == {
        "content": {"parts": [{"text": "first text"}], "role": "user"},
        "model": "models/gemini-embedding-001",
    }


def test_genai_sdk_sends_output_dimensionality_and_gets_an_unnormalised_vector(
    gemini_fake: FakeGeminiUpstream,
) -> None:
    sdk = genai_client(gemini_fake)
    config = types.EmbedContentConfig(output_dimensionality=16, task_type="RETRIEVAL_QUERY")
    result = sdk.models.embed_content(model="gemini-embedding-001", contents="hi", config=config)
    [embedding] = result.embeddings
    assert len(embedding.values) == 16 and norm(embedding.values) < 0.9
    sent = gemini_fake.requests[-1].body["requests"][0]
    assert (sent["outputDimensionality"], sent["taskType"]) == (16, "RETRIEVAL_QUERY")


def test_genai_sdk_reads_usage_metadata_when_the_fake_sends_it(
    gemini_fake: FakeGeminiUpstream,
) -> None:
    gemini_fake.reply_embeddings(prompt_tokens=7)
    sdk = genai_client(gemini_fake)  # kept: the SDK closes its HTTP client when collected
    result = sdk.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert result.usage_metadata is not None and result.usage_metadata.prompt_token_count == 7


def test_genai_sdk_raises_googles_errors_from_the_fake(gemini_fake: FakeGeminiUpstream) -> None:
    sdk = genai_client(gemini_fake)
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.embed_content(
            model="gemini-embedding-001",
            contents="hi",
            config=types.EmbedContentConfig(output_dimensionality=5000),
        )
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    gemini_fake.fail(429)
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert caught.value.code == 429
