"""Gemini's embedding calls for the fake Gemini upstream (tests/fakes/gemini_upstream.py):
`POST /{v1beta|v1}/models/{model}:batchEmbedContents` (what `google-genai` sends for
`embed_content`) and `:embedContent`.

- `batchEmbedContents` takes `{"requests": [EmbedContentRequest]}` (at most 100), each
  `{"model": "models/{model}", "content": {"parts": [{"text"}]}, "outputDimensionality"?,
  "taskType"?, "title"?}`, and answers `{"embeddings": [{"values": [...]}]}`.
- `embedContent` takes one `EmbedContentRequest` and answers `{"embedding": {"values"}}`.
- Vectors are deterministic (SHA-256 of the model and text). Like Google's, only full-size
  vectors are normalised: a vector shortened by `outputDimensionality` is not.
- No token usage, as Google has answered; `EmbedReply(prompt_tokens=N)` adds a
  `usageMetadata` as newer API versions may send (the SDK reads one).
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
EMBED_PATH = re.compile(r"^/(v1beta|v1)/models/([^/:]+):(batchEmbedContents|embedContent)$")
NATIVE_DIMENSIONS = {"gemini-embedding-001": 3072, "text-embedding-004": 768}
BATCH_LIMIT = 100


@dataclass(frozen=True)
class EmbedReply:
    prompt_tokens: int | None = None


class Invalid(Exception):
    """A request Google refuses with 400 INVALID_ARGUMENT."""


def values(model: str, text: str, dimensions: int | None) -> list[float]:
    native = NATIVE_DIMENSIONS.get(model, 768)
    raw = b"".join(
        hashlib.sha256(f"{model}|{text}#{block}".encode()).digest()
        for block in range(math.ceil(native * 4 / 32))
    )
    full = [n / 2**31 - 1.0 for n in struct.unpack(f"<{native}I", raw[: native * 4])]
    norm = math.sqrt(sum(x * x for x in full))
    full = [x / norm for x in full]
    return full[:dimensions] if dimensions else full


def _text(request: Any, where: str) -> str:
    content = request.get("content") if isinstance(request, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise Invalid(f"* {where}.content.parts: contents.parts must not be empty.")
    text = " ".join(str(p.get("text") or "") for p in parts if isinstance(p, dict))
    if not text.strip():
        raise Invalid(f"* {where}.content: The text content is empty.")
    return text


def _embedding(request: Any, model: str, where: str) -> JSON:
    text = _text(request, where)
    dimensions = request.get("outputDimensionality")
    if dimensions is not None and (
        not isinstance(dimensions, int) or not 1 <= dimensions <= NATIVE_DIMENSIONS.get(model, 768)
    ):
        raise Invalid(f"* {where}.output_dimensionality: Invalid output dimensionality.")
    named = request.get("model")
    if named is not None and named != f"models/{model}":
        raise Invalid(
            f"* {where}.model: Model name in the request ({named}) does not match the model "
            f"in the URL (models/{model})."
        )
    return {"values": values(model, text, dimensions)}


def answer(method: str, model: str, body: Any, reply: EmbedReply) -> JSON:
    """The answer to one embed call; raises `Invalid` for a request Google refuses."""
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON payload received.")
    if method == "embedContent":
        result: JSON = {"embedding": _embedding(body, model, "EmbedContentRequest")}
    else:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise Invalid("* BatchEmbedContentsRequest.requests: requests must not be empty.")
        if len(requests) > BATCH_LIMIT:
            raise Invalid(
                "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch"
            )
        result = {
            "embeddings": [
                _embedding(r, model, f"BatchEmbedContentsRequest.requests[{i}]")
                for i, r in enumerate(requests)
            ]
        }
    if reply.prompt_tokens is not None:
        result["usageMetadata"] = {
            "promptTokenCount": reply.prompt_tokens,
            "totalTokenCount": reply.prompt_tokens,
        }
    return result
