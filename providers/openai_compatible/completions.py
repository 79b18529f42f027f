"""OpenAI's legacy `POST /completions` on an OpenAI-compatible upstream, passed through: our
slug becomes the upstream's model id and a stream always asks for usage (so every stream can
be metered); everything else goes as the client sent it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from providers.base import Chunk
from providers.http import upstream
from providers.http.client import HttpClient
from providers.openai_compatible import streams
from providers.openai_compatible.request import to_upstream


async def stream(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    model: ModelEntry,
) -> AsyncIterator[Chunk]:
    """The upstream's `text_completion` chunks, its usage chunk included."""
    request = to_upstream(body, model, stream=True)
    async for chunk in streams.chunks(client, url, request, headers):
        yield chunk


async def complete(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    model: ModelEntry,
) -> dict[str, Any]:
    """The upstream's `text_completion`."""
    answer = await upstream.post_json(client, url, to_upstream(body, model, stream=False), headers)
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise UpstreamError("The upstream provider sent a malformed response.")
    return answer
