"""Audio tag: `POST /audio/transcriptions` (multipart/form-data)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.services import Services
from usecases.transcriptions import begin_transcription
from web.answers import MeteredAnswer
from web.multipart import Form


async def create_transcription(
    services: Services, form: Form, token_info: dict[str, Any]
) -> Response:
    try:
        run = await begin_transcription(services, token_info["caller"], form)
    except BaseException:
        await form.aclose()
        raise
    return MeteredAnswer(run)
