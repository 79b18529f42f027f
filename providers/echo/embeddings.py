"""`writingmate/echo-embed`: offline, deterministic embeddings, so the endpoint works (and is
tested) with no provider keys.

A text's vector is drawn from SHAKE-256 of its UTF-8 bytes: the same text always gets the same
vector, different texts unrelated ones. Vectors have 256 dimensions unless `dimensions` asks
for another number (up to 3072); like OpenAI's text-embedding-3 models, a shorter vector is the
start of a longer one, renormalised, and every vector has length 1. Token-id inputs are decoded
with cl100k_base first, so they embed like their text; ids that are not cl100k_base tokens (any
integers are valid input) get the vector of their list written out. Usage counts the echo
model's tokens (words and punctuation marks, as its chat does); token-id inputs count their ids.
"""

from __future__ import annotations

import hashlib
import math
import operator
import struct
from collections.abc import Mapping
from itertools import repeat
from typing import Any

import anyio.to_thread

from domain import embeddings
from domain.errors import InvalidRequest
from providers.echo.chat import count_tokens

DEFAULT_DIMENSIONS = 256
MAX_DIMENSIONS = 3072


def vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """Unit vector of `dimensions` float32 values for `text`. Small integers and C-level loops
    only: 2048 vectors of 3072 values take seconds, not tens of seconds."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(2 * dimensions)
    values = struct.unpack(f"<{dimensions}h", raw)
    norm = math.sqrt(sum(map(operator.mul, values, values))) or 1.0
    return embeddings.as_float32(list(map(operator.mul, values, repeat(1 / norm))))


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


def seed(item: str | list[int]) -> str:
    """What an input's vector is drawn from: its text, or decoded token ids."""
    if isinstance(item, str):
        return item
    text = embeddings.decoded(item)
    return text if text is not None else f"token ids {item}"


def prompt_tokens(raw: Any) -> int:
    return sum(
        count_tokens(item) if isinstance(item, str) else len(item)
        for item in embeddings.inputs(raw)
    )


def embed(body: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to an embeddings request (CPU work: run it off the event loop)."""
    dimensions = dimensions_of(body)
    computed: dict[str, list[float]] = {}  # a batch may repeat a text: compute it once
    vectors = []
    for item in embeddings.inputs(body["input"]):
        text = seed(item)
        if text not in computed:
            computed[text] = vector(text, dimensions)
        vectors.append(computed[text])
    tokens = prompt_tokens(body["input"])
    return {
        **embeddings.openai_shaped(vectors),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


async def create(body: Mapping[str, Any]) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(embed, body)
