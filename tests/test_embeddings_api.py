"""`POST /embeddings` end to end with the official `openai` SDK: the offline echo model, and
OpenAI's text-embedding-3 models through the fake OpenAI upstream."""

from __future__ import annotations

import base64
import math
import struct
import time

import openai
import pytest

from domain.embeddings import from_base64
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream

ECHO = "writingmate/echo-embed"
SMALL = "openai/text-embedding-3-small"


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (norm(a) * norm(b))


# ---- the offline echo model ----------------------------------------------------------------


def test_sdk_default_base64_is_decoded_into_a_unit_vector_and_metered(gateway: Gateway) -> None:
    raw = gateway.client().embeddings.with_raw_response.create(
        model=ECHO, input="Hello there, gateway!"
    )
    wire = raw.http_response.json()
    assert isinstance(wire["data"][0]["embedding"], str)  # the SDK asked for base64
    response = raw.parse()
    assert response.object == "list" and response.model == ECHO
    [item] = response.data
    assert (item.object, item.index) == ("embedding", 0)
    assert len(item.embedding) == 256 and norm(item.embedding) == pytest.approx(1, abs=1e-6)
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (5, 5)
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["endpoint"], row["model"], row["provider"]) == ("embeddings", ECHO, "writingmate")
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (5, 0, 1)
    assert (row["status"], row["http_status"], row["usage_estimated"]) == ("completed", 200, False)


def test_float_and_base64_carry_the_same_float32_values(gateway: Gateway) -> None:
    client = gateway.client()
    floats = client.embeddings.create(model=ECHO, input="same text", encoding_format="float")
    with gateway.http() as http:
        wire = http.post(
            "/embeddings", json={"model": ECHO, "input": "same text", "encoding_format": "base64"}
        ).json()
    packed = base64.b64decode(wire["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == floats.data[0].embedding


def test_dimensions_shorten_the_vector_which_stays_a_unit_vector(gateway: Gateway) -> None:
    client = gateway.client()
    full = client.embeddings.create(model=ECHO, input="matryoshka").data[0].embedding
    short = client.embeddings.create(model=ECHO, input="matryoshka", dimensions=64)
    vector = short.data[0].embedding
    assert len(vector) == 64 and norm(vector) == pytest.approx(1, abs=1e-6)
    assert cosine(vector, full[:64]) == pytest.approx(1, abs=1e-6)  # the start of the long one
    wide = client.embeddings.create(model=ECHO, input="matryoshka", dimensions=3072)
    assert len(wide.data[0].embedding) == 3072


def test_list_input_gives_one_embedding_per_input_in_order(gateway: Gateway) -> None:
    texts = ["alpha", "beta", "alpha"]
    response = gateway.client().embeddings.create(model=ECHO, input=texts)
    assert [d.index for d in response.data] == [0, 1, 2]
    vectors = [d.embedding for d in response.data]
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert response.usage.prompt_tokens == 3


def test_token_ids_embed_like_their_text(gateway: Gateway) -> None:
    client = gateway.client()
    text = client.embeddings.create(model=ECHO, input="Hello world").data[0].embedding
    single = client.embeddings.create(model=ECHO, input=[9906, 1917])  # cl100k "Hello world"
    nested = client.embeddings.create(model=ECHO, input=[[9906, 1917], [9906]])
    assert single.data[0].embedding == text and nested.data[0].embedding == text
    assert len(nested.data) == 2 and single.usage.prompt_tokens == 2


def test_a_long_batch_counts_messages_by_the_published_formula(gateway: Gateway) -> None:
    texts = ["word " * 9000, "word " * 9000]  # 18,000 echo tokens: two messages
    raw = gateway.client().embeddings.with_raw_response.create(model=ECHO, input=texts)
    assert raw.parse().usage.prompt_tokens == 18000
    assert raw.headers["x-writingmate-messages-counted"] == "2"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["messages"]) == (18000, 2)


async def test_async_client_embeds_too(gateway: Gateway) -> None:
    async with gateway.async_client() as client:
        response = await client.embeddings.create(model=ECHO, input=["a", "b"], dimensions=8)
    assert [len(d.embedding) for d in response.data] == [8, 8]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": ECHO}, "input"),
        ({"model": ECHO, "input": ""}, "input"),
        ({"model": ECHO, "input": []}, "input"),
        ({"model": ECHO, "input": ["ok", 3]}, "input"),
        ({"model": ECHO, "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": ECHO, "input": "x", "dimensions": 0}, "dimensions"),
    ],
)
def test_invalid_request_is_a_400_naming_the_param(
    gateway: Gateway, body: dict, param: str
) -> None:
    with gateway.http() as http:
        response = http.post("/embeddings", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert set(error) == {"message", "type", "param", "code"}
    assert gateway.ledger() == []


def test_echo_refuses_more_dimensions_than_it_has(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().embeddings.create(model=ECHO, input="x", dimensions=5000)
    assert caught.value.param == "dimensions"
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 400, 0)


def test_any_integers_are_token_ids_the_echo_model_embeds(gateway: Gateway) -> None:
    client = gateway.client()
    response = client.embeddings.create(model=ECHO, input=[[-5, 10_000_000], [-5, 10_000_000]])
    first, second = (d.embedding for d in response.data)
    assert first == second and norm(first) == pytest.approx(1, abs=1e-6)
    assert response.usage.prompt_tokens == 4


@pytest.mark.parametrize("model", [ECHO, SMALL])
def test_a_token_id_beyond_64_bits_is_a_400_naming_input(gateway: Gateway, model: str) -> None:
    huge = -37863155082054108940348912828416  # the JSON parser would read it as a float
    for tokens in ([5, huge], [[5], [huge]]):
        with gateway.http() as http:
            response = http.post("/embeddings", json={"model": model, "input": tokens})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"].startswith("input")


def test_a_token_id_written_as_a_decimal_is_that_token(gateway: Gateway) -> None:
    """`5.0` is an integer to JSON Schema, and so to the spec (Schemathesis sends such)."""
    with gateway.http() as http:
        written = [
            http.post("/embeddings", json={"model": ECHO, "input": tokens})
            for tokens in ([[5.0, 6]], [[5, 6]])
        ]
    assert [r.status_code for r in written] == [200, 200]
    assert written[0].json()["data"] == written[1].json()["data"]


def test_unknown_model_is_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().embeddings.create(model="nobody/nothing", input="x")
    assert caught.value.code == "model_not_found"


def test_a_chat_model_does_not_embed_and_an_embedding_model_does_not_chat(
    gateway: Gateway,
) -> None:
    client = gateway.client()
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="writingmate/echo", input="x")
    assert caught.value.code == "model_not_supported" and "embeddings" in caught.value.message
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=ECHO, messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_supported"


def test_an_exhausted_daily_limit_is_429_insufficient_quota(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=1)
    client = gateway.client()
    raw = client.embeddings.with_raw_response.create(model=ECHO, input="x")
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        client.embeddings.create(model=ECHO, input="x")
    assert caught.value.code == "insufficient_quota"
    assert len(gateway.ledger()) == 1


def test_embedding_models_are_listed(gateway: Gateway) -> None:
    ids = {m.id for m in gateway.client().models.list()}
    assert {ECHO, SMALL, "openai/text-embedding-3-large"} <= ids


# ---- OpenAI upstream (the fake) ------------------------------------------------------------


def test_openai_request_passes_through_with_the_upstream_model_id(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    raw = gateway.client().embeddings.with_raw_response.create(
        model=SMALL, input=["one two", "three"], dimensions=32, user="user-1"
    )
    response = raw.parse()
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.body == {
        "model": "text-embedding-3-small",
        "input": ["one two", "three"],
        "dimensions": 32,
        "user": "user-1",
        "encoding_format": "base64",
    }
    assert response.model == SMALL
    assert [len(d.embedding) for d in response.data] == [32, 32]
    assert response.usage.prompt_tokens == 3  # the upstream's count
    [row] = gateway.ledger()
    assert (row["provider"], row["prompt_tokens"], row["usage_estimated"]) == ("openai", 3, False)


def test_openai_float_request_gets_floats(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    with gateway.http() as http:
        wire = http.post(
            "/embeddings", json={"model": SMALL, "input": "x", "encoding_format": "float"}
        ).json()
    assert fake_openai.requests[-1].body["encoding_format"] == "float"
    vector = wire["data"][0]["embedding"]
    assert isinstance(vector, list) and len(vector) == 1536


def test_token_ids_pass_through_to_openai(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    gateway.client().embeddings.create(model=SMALL, input=[[1, 2, 3], [4]])
    assert fake_openai.requests[-1].body["input"] == [[1, 2, 3], [4]]


def test_floats_from_a_server_that_ignores_base64_are_encoded_by_the_gateway(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply_embeddings(floats_only=True, usage=False)
    raw = gateway.client().embeddings.with_raw_response.create(model=SMALL, input="Hello world")
    wire = raw.http_response.json()
    assert isinstance(wire["data"][0]["embedding"], str)
    vector = raw.parse().data[0].embedding
    assert vector == from_base64(wire["data"][0]["embedding"]) and len(vector) == 1536
    assert wire["usage"] == {"prompt_tokens": 2, "total_tokens": 2}  # cl100k estimate
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["usage_estimated"]) == (2, True)


def test_openai_refusal_reaches_the_client_as_a_400(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().embeddings.create(model=SMALL, input="x", dimensions=5000)
    assert caught.value.param == "dimensions"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (429, openai.RateLimitError, "rate_limit_exceeded"),
        (500, openai.APIStatusError, "upstream_error"),
        (503, openai.InternalServerError, "upstream_unavailable"),
    ],
)
def test_upstream_failures_are_openai_errors_and_cost_nothing(
    gateway: Gateway,
    fake_openai: FakeOpenAIUpstream,
    status: int,
    error: type[openai.APIStatusError],
    code: str,
) -> None:
    fake_openai.fail(status)
    with pytest.raises(error) as caught:
        gateway.client().embeddings.create(model=SMALL, input="x")
    assert caught.value.code == code
    [row] = gateway.ledger()
    assert (row["status"], row["messages"]) == ("upstream_error", 0)


def test_a_wrong_upstream_key_is_the_gateways_fault_not_the_callers(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.api_key = "sk-some-other-key"
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.client().embeddings.create(model=SMALL, input="x")
    assert caught.value.status_code == 502


def test_a_client_that_leaves_early_still_leaves_one_ledger_row(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply_embeddings(delay=1.0)
    with pytest.raises(openai.APITimeoutError):
        gateway.client(timeout=0.2).embeddings.create(model=SMALL, input="one two three")
    deadline = time.monotonic() + 10
    while not gateway.ledger() and time.monotonic() < deadline:
        time.sleep(0.05)
    [row] = gateway.ledger()
    assert row["status"] in ("completed", "client_disconnected")
    assert row["messages"] == 1 and row["prompt_tokens"] == 3
