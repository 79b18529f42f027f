"""Operations: `GET /metrics` (ops.yaml), the gateway's metrics in Prometheus' text format.
The metrics token, when the server has one, is checked by the spec's security scheme
(web/app.py) before this runs."""

from __future__ import annotations

from starlette.responses import Response

from gateway.metrics import CONTENT_TYPE
from gateway.services import Services


async def scrape(services: Services) -> Response:
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)
