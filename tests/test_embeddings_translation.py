"""The pure parts of embeddings: inputs, OpenAI's base64 encoding, conforming a provider's
answer, the echo model's vectors, and the OpenAI and Gemini translations."""

from __future__ import annotations

import math

import pytest

from domain import embeddings
from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.metering import Usage
from providers.echo import embeddings as echo_embeddings
from providers.gemini import embeddings as gemini_embeddings
from providers.openai_compatible import embeddings as openai_embeddings

GEMINI = ModelEntry("google/gemini-embedding-001", "google", "gemini-embedding-001", 0, "google")
SMALL = ModelEntry("openai/text-embedding-3-small", "openai", "text-embedding-3-small", 0, "openai")


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("one", ["one"]),
        (["one", "two"], ["one", "two"]),
        ([1, 2, 3], [[1, 2, 3]]),
        ([[1, 2], [3]], [[1, 2], [3]]),
    ],
)
def test_every_input_shape_becomes_a_list_of_items(raw: object, expected: list) -> None:
    assert embeddings.inputs(raw) == expected


def test_base64_is_little_endian_float32_as_openai_sends_it() -> None:
    # 1.0f is 0x3f800000 and -2.0f is 0xc0000000, least significant byte first.
    assert embeddings.to_base64([1.0, -2.0]) == "AACAPwAAAMA="
    assert embeddings.from_base64("AACAPwAAAMA=") == [1.0, -2.0]


def test_from_base64_refuses_a_partial_float() -> None:
    with pytest.raises(ValueError):
        embeddings.from_base64("AACA")  # three bytes


def test_token_ids_decode_with_cl100k_and_unknown_ids_are_the_callers_error() -> None:
    assert embeddings.texts([[9906, 1917], "as is"]) == ["Hello world", "as is"]
    for bad in ([[100256]], [-1], [[2**40]]):
        with pytest.raises(InvalidRequest) as caught:
            embeddings.texts(bad)
        assert caught.value.param == "input"


def test_estimated_usage_counts_cl100k_tokens_or_ids() -> None:
    assert embeddings.estimated_usage(["Hello world", "Hello"]) == Usage(3, estimated=True)
    assert embeddings.estimated_usage([[1, 2, 3], [4]]) == Usage(4, estimated=True)


def test_reported_usage_reads_prompt_tokens_only_when_present() -> None:
    assert embeddings.reported_usage({"usage": {"prompt_tokens": 4}}) == Usage(4)
    assert embeddings.reported_usage({}) is None
    assert embeddings.reported_usage({"usage": {"total_tokens": 4}}) is None


def test_answer_orders_by_index_relabels_and_encodes_as_asked() -> None:
    upstream = {
        "object": "list",
        "model": "text-embedding-3-small",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
            {"object": "embedding", "index": 0, "embedding": "AACAPwAAAMA="},
        ],
        "usage": {"prompt_tokens": 9, "total_tokens": 9},
    }
    as_base64 = embeddings.answer(upstream, "openai/x", "base64", Usage(9))
    assert as_base64 == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": "AACAPwAAAMA="},
            {"object": "embedding", "index": 1, "embedding": embeddings.to_base64([0.0, 1.0])},
        ],
        "model": "openai/x",
        "usage": {"prompt_tokens": 9, "total_tokens": 9},
    }
    as_floats = embeddings.answer(upstream, "openai/x", "float", Usage(9))
    assert [d["embedding"] for d in as_floats["data"]] == [[1.0, -2.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    "upstream",
    [
        {},
        {"data": "nope"},
        {"data": [{"index": 0}]},
        {"data": [{"index": 0, "embedding": [1, "x"]}]},
        {"data": [{"index": "0", "embedding": [1.0]}]},
        {"data": [{"index": 0, "embedding": "AACA"}]},
    ],
)
def test_a_malformed_answer_is_an_upstream_error(upstream: dict) -> None:
    with pytest.raises(UpstreamError):
        embeddings.answer(upstream, "m", "float", Usage(1))


def test_echo_vectors_are_deterministic_unit_vectors_and_prefixes_of_longer_ones() -> None:
    long = echo_embeddings.vector("text", 256)
    assert long == echo_embeddings.vector("text", 256) != echo_embeddings.vector("other", 256)
    assert norm(long) == pytest.approx(1, abs=1e-6)
    short = echo_embeddings.vector("text", 16)
    scale = norm(long[:16])
    assert short == pytest.approx([x / scale for x in long[:16]], abs=1e-6)
    assert embeddings.as_float32(long) == long


@pytest.mark.parametrize("dimensions", [0, 3073])
def test_echo_refuses_dimensions_it_cannot_give(dimensions: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        echo_embeddings.dimensions_of({"dimensions": dimensions})
    assert caught.value.param == "dimensions"


def test_openai_request_gets_the_upstream_id_and_loses_unset_options() -> None:
    body = {"model": SMALL.slug, "input": [[1]], "dimensions": None, "extra": "kept"}
    assert openai_embeddings.to_upstream(body, SMALL) == {
        "model": "text-embedding-3-small",
        "input": [[1]],
        "extra": "kept",
    }


def test_gemini_batch_request_names_the_model_and_output_dimensionality() -> None:
    assert gemini_embeddings.to_batch(["a"], GEMINI, 64) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "a"}]},
                "outputDimensionality": 64,
            }
        ]
    }
    assert (
        "outputDimensionality" not in gemini_embeddings.to_batch(["a"], GEMINI, None)["requests"][0]
    )


def test_gemini_batches_hold_at_most_a_hundred_texts() -> None:
    parts = gemini_embeddings.batches([str(i) for i in range(201)])
    assert [len(p) for p in parts] == [100, 100, 1]
    assert [t for p in parts for t in p] == [str(i) for i in range(201)]


def test_gemini_vectors_are_normalised_and_counted() -> None:
    answer = {"embeddings": [{"values": [3.0, 4.0]}]}
    assert gemini_embeddings.vectors_of(answer, 1) == [[0.6, 0.8]]
    for bad in ({"embeddings": []}, {"embeddings": [{"values": ["x"]}]}, [], None):
        with pytest.raises(UpstreamError):
            gemini_embeddings.vectors_of(bad, 1)


def test_gemini_usage_is_known_only_when_every_batch_reports_it() -> None:
    with_usage = {"embeddings": [{"values": [1.0]}], "usageMetadata": {"promptTokenCount": 3}}
    without = {"embeddings": [{"values": [1.0]}]}
    assert gemini_embeddings.prompt_tokens([with_usage, with_usage]) == 6
    assert gemini_embeddings.prompt_tokens([with_usage, without]) is None
    answer = gemini_embeddings.answer_of([with_usage, with_usage], [1, 1])
    assert answer["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    assert [d["index"] for d in answer["data"]] == [0, 1]
