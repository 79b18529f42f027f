"""Chat tag: `POST /chat/completions`, streamed (SSE) or not."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.chat import ChatRun, MeteredStream, begin_chat, metering_headers, open_stream
from gateway.services import Services

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def create_chat_completion(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    return await answer(await begin_chat(services, token_info["caller"], body))


async def answer(run: ChatRun) -> Response:
    """An admitted run's answer: an SSE stream when the request asked for one, else JSON."""
    if run.body.get("stream"):
        frames = await open_stream(run)
        headers = {**SSE_HEADERS, **metering_headers(None, run.remaining)}
        return MeteredStream(run, frames, headers)
    completion, headers = await run.complete()
    return Response(orjson.dumps(completion), media_type="application/json", headers=headers)
