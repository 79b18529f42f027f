"""Completions tag: the legacy `POST /completions`, streamed (SSE) or not."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.completions import begin_completion
from gateway.services import Services
from handlers.chat import answer


async def create_completion(
    services: Services, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    return await answer(await begin_completion(services, token_info["caller"], body))
