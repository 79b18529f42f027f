"""Responses tag: `POST /responses` (streamed as named SSE events or not),
`GET /responses/{response_id}`, `DELETE /responses/{response_id}`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.services import Services
from usecases import responses
from web.answers import MeteredAnswer


async def create_response(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    if body["model"] not in services.catalog.models:  # perhaps a local server's new model
        await services.models.look_for(body["model"])
    turn = await responses.begin_response(services, token_info["caller"], body)
    return MeteredAnswer(turn)


async def get_response(
    services: Services, response_id: str, token_info: dict[str, Any]
) -> dict[str, Any]:
    return await responses.retrieve(services, token_info["caller"], response_id)


async def delete_response(
    services: Services, response_id: str, token_info: dict[str, Any]
) -> dict[str, Any]:
    return await responses.delete(services, token_info["caller"], response_id)
