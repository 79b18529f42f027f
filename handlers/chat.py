"""Chat tag: `POST /chat/completions`, streamed (SSE) or not."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.services import Services
from usecases.chat import begin_chat
from web.answers import MeteredAnswer


async def create_chat_completion(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    if body["model"] not in services.catalog.models:  # perhaps a local server's new model
        await services.models.look_for(body["model"])
    run = await begin_chat(services, token_info["caller"], body)
    return MeteredAnswer(run)
