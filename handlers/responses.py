"""Responses tag: `POST /responses` (streamed as named SSE events or not),
`GET /responses/{response_id}`, `DELETE /responses/{response_id}`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway import responses
from gateway.chat import MeteredStream, metering_headers, open_stream
from gateway.services import Services
from handlers.chat import SSE_HEADERS


async def create_response(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    turn = await responses.begin_response(services, token_info["caller"], body)
    if body.get("stream"):
        frames = await open_stream(turn.run, turn.relay)
        headers = {**SSE_HEADERS, **metering_headers(None, turn.run.remaining)}
        return MeteredStream(turn.run, frames, headers)
    response, headers = await turn.complete()
    return Response(orjson.dumps(response), media_type="application/json", headers=headers)


async def retrieve_response(
    services: Services, response_id: str, token_info: dict[str, Any]
) -> dict[str, Any]:
    return await responses.retrieve(services, token_info["caller"], response_id)


async def delete_response(
    services: Services, response_id: str, token_info: dict[str, Any]
) -> dict[str, Any]:
    return await responses.delete(services, token_info["caller"], response_id)
