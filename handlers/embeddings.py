"""Embeddings tag: `POST /embeddings`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.services import Services
from usecases.embeddings import begin_embeddings
from web.answers import MeteredAnswer


async def create_embedding(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    if body["model"] not in services.catalog.models:  # perhaps a local server's new model
        await services.models.look_for(body["model"])
    run = await begin_embeddings(services, token_info["caller"], body)
    return MeteredAnswer(run)
