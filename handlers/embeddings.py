"""Embeddings tag: `POST /embeddings`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.answers import MeteredAnswer
from gateway.embeddings import begin_embeddings
from gateway.services import Services


async def create_embedding(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    if body["model"] not in services.catalog.models:  # perhaps a local server's new model
        await services.models.look_for(body["model"])
    run = await begin_embeddings(services, token_info["caller"], body)
    return MeteredAnswer(run)
