"""An OpenAI-compatible upstream's SSE stream (chat completions and legacy completions alike)
as chunk objects: `[DONE]` read past, and an error sent mid-stream raised as our error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from domain.errors import UpstreamError
from providers.base import Chunk
from providers.http import upstream
from providers.http.client import HttpClient


def error_in_stream(
    payload: Mapping[str, Any], sent: Mapping[str, str] | None = None
) -> UpstreamError | None:
    """An upstream that fails mid-stream sends `data: {"error": {...}}` (`sent`: the request's
    headers, whose credentials never reach the client)."""
    error = payload.get("error")
    if not error:
        return None
    message, _, _ = upstream.openai_error_fields(payload)
    text = upstream.upstream_message(message or str(error), sent)
    return UpstreamError(f"The upstream provider failed mid-stream: {text}")


async def chunks(
    client: HttpClient, url: str, request: Mapping[str, Any], headers: Mapping[str, str]
) -> AsyncIterator[Chunk]:
    """POST `request` and yield the stream's objects."""
    async for event in upstream.stream_events(client, url, request, headers):
        if event.data.strip() == "[DONE]":
            continue  # read on to the end of the body so the connection can be reused
        payload = upstream.event_object(event)
        failure = error_in_stream(payload, headers)
        if failure is not None:
            raise failure
        yield payload
