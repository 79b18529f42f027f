"""Images tag: `POST /images/generations`, and `GET /images/files/{name}`, which serves the
images the gateway stored for `response_format: url` (no key: the name is the credential)."""

from __future__ import annotations

import time
from typing import Any

from connexion import request
from starlette.responses import Response

from domain.errors import NotFound
from gateway.services import Services
from usecases.images import begin_images, links_base
from web.answers import MeteredAnswer


async def create_image(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    url = str(request.url).split("?", 1)[0]
    base = links_base(services.settings.public_url, url, request.url.path)
    run = await begin_images(services, token_info["caller"], body, base)
    return MeteredAnswer(run)


async def get_image_file(services: Services, name: str) -> Response:
    stored = await services.image_store.get(name)
    if stored is None:
        raise NotFound("No such image, or its link has expired.", code="image_not_found")
    return Response(
        stored.data,
        media_type=stored.media_type,
        headers={
            "Cache-Control": f"private, max-age={max(0, int(stored.expires_at - time.time()))}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        },
    )
