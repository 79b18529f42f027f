"""Audio tag: `POST /audio/transcriptions` (multipart/form-data)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.multipart import Form
from gateway.services import Services
from gateway.transcriptions import transcribe


async def create_transcription(
    services: Services, form: Form, token_info: dict[str, Any]
) -> Response:
    try:
        result, headers = await transcribe(services, token_info["caller"], form)
    finally:
        await form.aclose()
    return Response(result.content, media_type=result.media_type, headers=headers)
