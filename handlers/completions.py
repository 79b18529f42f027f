"""Completions tag: the legacy `POST /completions`, streamed (SSE) or not."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.chat import MeteredStream, metering_headers, open_stream
from gateway.completions import begin_completion
from gateway.services import Services
from handlers.chat import SSE_HEADERS


async def create_completion(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    run = await begin_completion(services, token_info["caller"], body)
    if body.get("stream"):
        frames = await open_stream(run)
        headers = {**SSE_HEADERS, **metering_headers(None, run.remaining)}
        return MeteredStream(
            run, frames, media_type="text/event-stream; charset=utf-8", headers=headers
        )
    completion, headers = await run.complete()
    return Response(orjson.dumps(completion), media_type="application/json", headers=headers)
