"""Embeddings on the Gemini API: `POST /v1beta/models/{model}:batchEmbedContents`, the call
the official `google-genai` SDK makes for `embed_content`.

- Each input is one `EmbedContentRequest` (`content.parts[0].text`); token-id inputs are
  decoded with cl100k_base first. A batch takes at most 100 requests, so longer inputs go out
  in several batches (a few at a time) and their vectors are joined in input order.
- `dimensions` becomes `outputDimensionality`. Google normalises only full-size vectors;
  every vector is normalised here, as OpenAI's are, so cosine similarity is a dot product.
- Gemini has reported no token usage for embeddings: the gateway then estimates it (and says
  so in the ledger). A `usageMetadata.promptTokenCount` on every batch is used when present.

Translation is pure (`to_batch`, `vectors_of`); `create` only moves bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.to_thread

from domain import embeddings
from domain.catalog import ModelEntry
from domain.errors import GatewayError, UpstreamError
from providers.http import upstream
from providers.http.client import HttpClient

JSON = dict[str, Any]
BATCH_LIMIT = 100  # requests per batchEmbedContents call
CONCURRENT_BATCHES = 4


def to_batch(texts: Sequence[str], model: ModelEntry, dimensions: int | None) -> JSON:
    """The `BatchEmbedContentsRequest` for some texts."""
    requests = []
    for text in texts:
        request: JSON = {
            "model": f"models/{model.upstream_id}",
            "content": {"parts": [{"text": text}]},
        }
        if dimensions is not None:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}


def vectors_of(answer: Any, expected: int) -> list[list[float]]:
    """The (normalised) vectors of a `BatchEmbedContentsResponse`, one per request sent."""
    items = answer.get("embeddings") if isinstance(answer, Mapping) else None
    if not isinstance(items, list) or len(items) != expected:
        raise UpstreamError("The upstream provider sent a malformed embeddings response.")
    vectors = []
    for item in items:
        values = item.get("values") if isinstance(item, Mapping) else None
        if not isinstance(values, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in values
        ):
            raise UpstreamError("The upstream provider sent a malformed embedding vector.")
        vectors.append(embeddings.normalised(values))
    return vectors


def batches(texts: Sequence[str]) -> list[Sequence[str]]:
    return [texts[i : i + BATCH_LIMIT] for i in range(0, len(texts), BATCH_LIMIT)]


def prompt_tokens(answers: Sequence[Any]) -> int | None:
    """The sum of every batch's `usageMetadata.promptTokenCount` when all report one (newer
    API versions may; the SDK reads it), else None."""
    counts = [
        (answer.get("usageMetadata") or {}).get("promptTokenCount")
        if isinstance(answer, Mapping)
        else None
        for answer in answers
    ]
    reported = [count for count in counts if isinstance(count, int)]
    if len(reported) != len(counts):
        return None
    return sum(reported)


def answer_of(answers: Sequence[Any], sizes: Sequence[int]) -> JSON:
    """Every batch's vectors, in input order, as an OpenAI-shaped answer (CPU work on long
    vectors: run it off the event loop)."""
    vectors = [
        vector
        for answer, size in zip(answers, sizes, strict=True)
        for vector in vectors_of(answer, size)
    ]
    response = embeddings.openai_shaped(vectors)
    tokens = prompt_tokens(answers)
    if tokens is not None:
        response["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return response


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The failure to report when several concurrent batches failed."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if isinstance(error, GatewayError):
            return error
    return group


async def create(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    model: ModelEntry,
    read_error: upstream.ErrorReader,
) -> JSON:
    texts = await anyio.to_thread.run_sync(embeddings.texts, body["input"])
    parts = batches(texts)
    answers: list[Any] = [None] * len(parts)
    limiter = anyio.CapacityLimiter(CONCURRENT_BATCHES)

    async def send(i: int) -> None:
        async with limiter:
            request = to_batch(parts[i], model, body.get("dimensions"))
            answers[i] = await upstream.post_json(client, url, request, headers, read_error)

    if len(parts) == 1:
        await send(0)
    else:
        try:
            async with anyio.create_task_group() as group:
                for i in range(len(parts)):
                    group.start_soon(send, i)
        except BaseExceptionGroup as failures:
            raise _first_error(failures) from None
    sizes = [len(part) for part in parts]
    return await anyio.to_thread.run_sync(answer_of, answers, sizes)
