"""`writingmate/echo-embed`: offline, deterministic embeddings, so the endpoint works (and is
tested) with no provider keys.

A text's vector is drawn from SHAKE-256 of its UTF-8 bytes: the same text always gets the same
vector, different texts unrelated ones. Vectors have 256 dimensions unless `dimensions` asks
for another number (up to 3072); like OpenAI's text-embedding-3 models, a shorter vector is the
start of a longer one, renormalised, and every vector has length 1. Token-id inputs are decoded
with cl100k_base first, so they embed like their text. Usage counts the echo model's tokens
(words and punctuation marks, as its chat does); token-id inputs count their ids.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from domain import embeddings
from domain.errors import InvalidRequest
from providers.echo import count_tokens

DEFAULT_DIMENSIONS = 256
MAX_DIMENSIONS = 3072
_SCALE = 2.0**31


def vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """Unit vector of `dimensions` float32 values for `text`."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(4 * dimensions)
    values = [n / _SCALE - 1.0 for n in struct.unpack(f"<{dimensions}I", raw)]
    return embeddings.as_float32(embeddings.normalised(values))


def dimensions_of(body: Mapping[str, Any]) -> int:
    wanted = body.get("dimensions")
    if wanted is None:
        return DEFAULT_DIMENSIONS
    if not 1 <= wanted <= MAX_DIMENSIONS:
        raise InvalidRequest(
            f"Invalid value for 'dimensions' = {wanted}. Must be between 1 and {MAX_DIMENSIONS}.",
            param="dimensions",
            code="invalid_value",
        )
    return int(wanted)


def prompt_tokens(raw: Any) -> int:
    return sum(
        count_tokens(item) if isinstance(item, str) else len(item)
        for item in embeddings.inputs(raw)
    )


def embed(body: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to an embeddings request (CPU work: run it off the event loop)."""
    dimensions = dimensions_of(body)
    vectors = [vector(text, dimensions) for text in embeddings.texts(body["input"])]
    tokens = prompt_tokens(body["input"])
    return {
        **embeddings.openai_shaped(vectors),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


async def create(body: Mapping[str, Any]) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(embed, body)
