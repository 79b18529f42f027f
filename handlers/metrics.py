"""Operations: `GET /metrics` (ops.yaml), the gateway's metrics in Prometheus' text format,
open to any scraper unless `WMGW_METRICS_TOKEN` is set, which it must then send as a Bearer
token."""

from __future__ import annotations

import hmac

from connexion.context import request
from starlette.responses import Response

from domain.errors import InvalidApiKey
from gateway.metrics import CONTENT_TYPE
from gateway.services import Services

WRONG_TOKEN = "/metrics needs the metrics token: send it as `Authorization: Bearer <token>`."


async def scrape(services: Services) -> Response:
    token = services.settings.metrics_token
    if token is not None and not _bears(request.headers.get("authorization"), token):
        raise InvalidApiKey(WRONG_TOKEN)
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)


def _bears(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    # Compared in constant time: the answer's timing tells nothing of the token.
    same = hmac.compare_digest(given.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and same
