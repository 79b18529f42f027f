"""Videos tag: `POST /videos`, `GET /videos/{video_id}`, `GET /videos/{video_id}/content`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from domain.videos import MEDIA_TYPES, Job, ReferenceFile, poll_after_ms
from gateway.services import Services
from usecases.videos import begin_video, retrieve_video, video_content
from web.answers import MeteredAnswer
from web.multipart import Form, UploadedFile

DECLARED = frozenset(MEDIA_TYPES.values())  # what the spec declares for the content


def _video(services: Services, job: Job, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    after = poll_after_ms(job, services.settings.videos.poll_seconds)
    if after is not None:
        headers["openai-poll-after-ms"] = str(after)
    return Response(orjson.dumps(job.as_openai()), media_type="application/json", headers=headers)


async def _reference(upload: UploadedFile | None) -> ReferenceFile | None:
    if upload is None:
        return None
    return ReferenceFile(
        filename=upload.filename or "reference",
        content_type=upload.content_type,
        data=await upload.read(),
    )


async def _fields(body: dict[str, Any] | None, form: Form | None) -> tuple[dict[str, Any], Any]:
    """The request's fields and reference file, from a multipart form (what the SDKs send) or
    a JSON body."""
    if form is None:
        return body or {}, None
    try:
        return form.fields, await _reference(form.files.get("input_reference"))
    finally:
        await form.aclose()


async def create_video(
    services: Services,
    token_info: dict[str, Any],
    body: dict[str, Any] | None = None,
    form: Form | None = None,
) -> Response:
    fields, reference = await _fields(body, form)
    run = await begin_video(services, token_info["caller"], fields, reference)
    return MeteredAnswer(run)


async def get_video(services: Services, video_id: str, token_info: dict[str, Any]) -> Response:
    return _video(services, await retrieve_video(services, token_info["caller"], video_id))


async def retrieve_video_content(
    services: Services, video_id: str, token_info: dict[str, Any], variant: str = "video"
) -> Response:
    content = await video_content(services, token_info["caller"], video_id, variant)
    media_type = content.media_type if content.media_type in DECLARED else MEDIA_TYPES[variant]
    headers = {"content-length": str(content.length)} if content.length is not None else {}
    return StreamingResponse(content.chunks, media_type=media_type, headers=headers)
