"""OpenAI's `POST /v1/embeddings` for the fake OpenAI upstream (tests/fakes/openai_upstream.py).

Answers as OpenAI does (`CreateEmbeddingResponse` in OpenAI's API
reference): one unit vector per input, deterministic (drawn from SHA-256 of the model and the
input), `dimensions` honoured by text-embedding-3 models only, and with
`encoding_format: base64` each vector as the base64 of its little-endian float32 values.
`usage.prompt_tokens` counts whitespace-separated words (token ids count one each).

`EmbeddingsReply(floats_only=True)` plays a local OpenAI-compatible server that ignores
`encoding_format` and always sends floats. Error messages follow OpenAI's where they are known;
the one for too many `dimensions` is an approximation.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

NATIVE_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
SHORTENABLE = frozenset({"text-embedding-3-small", "text-embedding-3-large"})


@dataclass(frozen=True)
class EmbeddingsReply:
    """A canned embeddings answer; `prompt_tokens` overrides the word count."""

    floats_only: bool = False
    prompt_tokens: int | None = None
    usage: bool = True
    delay: float = 0.0  # seconds before answering


def _error(message: str, param: str | None = None, code: str | None = None) -> JSON:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def unit_vector(seed: str, dimensions: int) -> list[float]:
    raw = b"".join(
        hashlib.sha256(f"{seed}#{block}".encode()).digest()
        for block in range(math.ceil(dimensions * 4 / 32))
    )
    values = [n / 2**31 - 1.0 for n in struct.unpack(f"<{dimensions}I", raw[: dimensions * 4])]
    norm = math.sqrt(sum(x * x for x in values))
    return [x / norm for x in values]


def float32_base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _inputs(raw: Any) -> list[str | list[int]] | None:
    if isinstance(raw, str) and raw:
        return [raw]
    if not isinstance(raw, list) or not raw or len(raw) > 2048:
        return None
    if all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
        return [raw]
    if all(isinstance(x, str) and x for x in raw):
        return list(raw)
    if all(isinstance(x, list) and x and all(isinstance(t, int) for t in x) for x in raw):
        return list(raw)
    return None


def _dimensions(body: JSON, model: str) -> tuple[int | None, JSON | None]:
    native = NATIVE_DIMENSIONS.get(model, 1536)
    wanted = body.get("dimensions")
    if wanted is None:
        return native, None
    if model not in SHORTENABLE:
        return None, _error("This model does not support specifying dimensions.")
    if not isinstance(wanted, int) or not 1 <= wanted <= native:
        return None, _error(
            f"Invalid value for 'dimensions' = {wanted}. Must be between 1 and {native}.",
            param="dimensions",
            code="invalid_value",
        )
    return wanted, None


def answer(body: Any, reply: EmbeddingsReply) -> tuple[int, JSON]:
    """(HTTP status, body) for one embeddings request."""
    if not isinstance(body, dict) or not body.get("model"):
        return 400, _error("you must provide a model parameter")
    model = str(body["model"])
    inputs = _inputs(body.get("input"))
    if inputs is None:
        return 400, _error(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference."
        )
    dimensions, error = _dimensions(body, model)
    if error is not None or dimensions is None:
        return 400, error or {}
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        return 400, _error(
            f"Invalid value for 'encoding_format' = {encoding}.",
            param="encoding_format",
            code="invalid_value",
        )
    base64_out = encoding == "base64" and not reply.floats_only
    data = []
    for index, item in enumerate(inputs):
        vector = unit_vector(f"{model}|{item}", dimensions)
        embedding: Any = float32_base64(vector) if base64_out else vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    words = sum(len(item.split()) if isinstance(item, str) else len(item) for item in inputs)
    tokens = reply.prompt_tokens if reply.prompt_tokens is not None else words
    payload: JSON = {"object": "list", "data": data, "model": model}
    if reply.usage:
        payload["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return 200, payload
