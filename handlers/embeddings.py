"""Embeddings tag: `POST /embeddings`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.embeddings import begin_embeddings
from gateway.services import Services


async def create_embedding(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    run = await begin_embeddings(services, token_info["caller"], body)
    response, headers = await run.complete()
    return Response(orjson.dumps(response), media_type="application/json", headers=headers)
