"""Embeddings, whatever the provider: the inputs of a request, vectors as OpenAI's base64
(little-endian float32, what both official SDKs ask for by default), and one answer in the
encoding the client asked for.

`input` is a string, a list of strings, a list of token ids or a list of token-id lists (the
ids are OpenAI's cl100k_base tokens). Providers that take text decode token ids with the same
tokenizer (`texts`).
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from domain import tokens
from domain.errors import InvalidRequest, UpstreamError
from domain.metering import Usage

Inputs = list[str | list[int]]  # all texts, or all token-id lists
NOT_TOKENS = "`input` holds token ids that are not cl100k_base tokens."


def inputs(raw: Any) -> Inputs:
    """The request's `input` as a list of texts or a list of token-id lists."""
    if isinstance(raw, str):
        return [raw]
    if raw and not any(isinstance(item, str | list) for item in raw):
        return [_token_ids(raw)]
    return [item if isinstance(item, str) else _token_ids(item) for item in raw]


def _token_ids(items: list[Any]) -> list[int]:
    # The JSON parser reads an integer beyond 64 bits as a float: no such number is a token.
    if not all(isinstance(item, int) for item in items):
        raise InvalidRequest(NOT_TOKENS, param="input", code="invalid_value")
    return list(items)


def decoded(ids: list[int]) -> str | None:
    """Token ids as cl100k_base text, or None when some id is not a cl100k_base token (loads
    the tokenizer: call it off the event loop)."""
    try:
        return tokens.encoding().decode(ids, errors="replace")
    except (KeyError, ValueError, OverflowError):
        return None


def texts(raw: Any) -> list[str]:
    """Every input as text, token ids decoded with cl100k_base (call it off the event loop).
    Ids the tokenizer does not know are the caller's error."""
    result = []
    for item in inputs(raw):
        text = item if isinstance(item, str) else decoded(item)
        if text is None:
            raise InvalidRequest(NOT_TOKENS, param="input", code="invalid_value")
        result.append(text)
    return result


def estimated_usage(raw: Any) -> Usage:
    """Prompt tokens of the inputs when the provider reports none: cl100k_base counts of the
    texts, the number of ids of token inputs (CPU work: call it off the event loop)."""
    count = sum(
        tokens.estimate_tokens(item) if isinstance(item, str) else len(item) for item in inputs(raw)
    )
    return Usage(prompt_tokens=count, estimated=True)


def reported_usage(answer: Mapping[str, Any]) -> Usage | None:
    """The provider's own count, when its answer has one."""
    usage = answer.get("usage")
    if not isinstance(usage, Mapping) or not isinstance(usage.get("prompt_tokens"), int):
        return None
    return Usage(prompt_tokens=usage["prompt_tokens"])


def to_base64(vector: Sequence[float]) -> str:
    """A vector as OpenAI sends it with `encoding_format: base64`."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def from_base64(data: str) -> list[float]:
    raw = base64.b64decode(data)
    if len(raw) % 4:
        raise ValueError("not a whole number of float32 values")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def as_float32(vector: Sequence[float]) -> list[float]:
    """The values a float32 holds, so `float` and `base64` answers carry the same numbers."""
    return list(struct.unpack(f"<{len(vector)}f", struct.pack(f"<{len(vector)}f", *vector)))


def normalised(vector: Sequence[float]) -> list[float]:
    """The vector scaled to length 1 (cosine similarity becomes a dot product), as OpenAI's
    models return them, also when shortened with `dimensions`."""
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def _encoded(embedding: Any, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return embedding if isinstance(embedding, str) else to_base64(embedding)
    return from_base64(embedding) if isinstance(embedding, str) else embedding


def _valid(item: Any) -> bool:
    if not isinstance(item, Mapping) or not isinstance(item.get("index"), int):
        return False
    embedding = item.get("embedding")
    return isinstance(embedding, str) or (
        isinstance(embedding, list)
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in embedding)
    )


def answer(
    upstream: Mapping[str, Any], model: str, encoding_format: str, usage: Usage
) -> dict[str, Any]:
    """OpenAI's `CreateEmbeddingResponse` from a provider's answer: our model slug, every
    vector in the asked encoding (a local server may send floats when base64 was asked for),
    in input order, and the usage that was metered. CPU work on large answers: call it off
    the event loop."""
    data = upstream.get("data")
    if not isinstance(data, list) or not all(_valid(item) for item in data):
        raise UpstreamError("The upstream provider sent a malformed embeddings response.")
    try:
        ordered = [
            {
                "object": "embedding",
                "index": item["index"],
                "embedding": _encoded(item["embedding"], encoding_format),
            }
            for item in sorted(data, key=lambda item: item["index"])
        ]
    except (ValueError, struct.error) as exc:
        raise UpstreamError("The upstream provider sent a malformed embedding vector.") from exc
    return {
        "object": "list",
        "data": ordered,
        "model": model,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
    }


def openai_shaped(vectors: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Float vectors (in input order) as an OpenAI embeddings answer, for providers whose
    wire format is another one; the gateway adds model and usage."""
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": list(vector)}
            for i, vector in enumerate(vectors)
        ],
    }
