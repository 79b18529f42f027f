"""OpenAI's videos API (sora-2): `POST /videos`, `GET /videos/{id}`, `GET /videos/{id}/content`.

Translation is near the identity: our slug becomes the upstream model
id, `seconds` stays a string. A job with a reference file goes out as `multipart/form-data`
(as the SDK sends it); one without, or with an `image_url`/`file_id` reference, as JSON, which
the API accepts too. The pure functions come first; the calls after them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import GatewayError, NotFound, UpstreamError
from domain.scrub import scrub
from domain.videos import (
    MEDIA_TYPES,
    STATUSES,
    ReferenceFile,
    UpstreamVideo,
    VideoContent,
    VideoSpec,
    clamp_progress,
    failure,
)
from providers.http import upstream
from providers.http.client import HttpClient, HttpError, Response, StreamedResponse

Files = dict[str, tuple[str, bytes, str]]


def create_request(
    spec: VideoSpec, model: ModelEntry
) -> tuple[dict[str, Any] | None, dict[str, str] | None, Files | None]:
    """(JSON body, form fields, files): JSON alone, or form fields with the reference file."""
    fields = {"model": model.upstream_id, "prompt": spec.prompt, "seconds": spec.seconds}
    fields["size"] = spec.size
    reference = spec.input_reference
    if isinstance(reference, ReferenceFile):
        files = {"input_reference": (reference.filename, reference.data, reference.content_type)}
        return None, fields, files
    body: dict[str, Any] = dict(fields)
    if reference:
        body["input_reference"] = dict(reference)
    return body, None, None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def video_from(payload: Any) -> UpstreamVideo:
    """OpenAI's `video` object as an UpstreamVideo; anything else is the upstream's fault."""
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise UpstreamError("The upstream provider sent a malformed video object.")
    status = payload.get("status")
    if status not in STATUSES:
        raise UpstreamError(f"The upstream provider sent an unknown video status: {status!r}.")
    error = payload.get("error")
    if status == "failed":
        error = error_from(error)
    return UpstreamVideo(
        id=payload["id"],
        status=status,
        progress=clamp_progress(payload.get("progress")),
        error=error if status == "failed" else None,
        completed_at=_int_or_none(payload.get("completed_at")),
        expires_at=_int_or_none(payload.get("expires_at")),
    )


def error_from(error: Any) -> dict[str, str]:
    """A failed job's `error` with the `code` and `message` clients rely on."""
    if not isinstance(error, dict):
        return failure("video_generation_failed", "The upstream provider failed the video.")
    code = error.get("code")
    message = error.get("message")
    return failure(
        code if isinstance(code, str) and code else "video_generation_failed",
        scrub(message) if isinstance(message, str) and message else "The video generation failed.",
    )


# ------------------------------------------------------------------------------ calls


async def create(
    client: HttpClient,
    base_url: str,
    headers: Mapping[str, str],
    spec: VideoSpec,
    model: ModelEntry,
) -> UpstreamVideo:
    body, fields, files = create_request(spec, model)
    url = f"{base_url}/videos"
    if body is not None:
        return video_from(await upstream.post_json(client, url, body, headers))
    try:
        response = await client.post(url, data=fields, files=files, headers=headers)
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    return video_from(_json(response, headers))


def _json(response: Response, sent: Mapping[str, str]) -> Any:
    """The answer's JSON, or the upstream's error (`sent`: the request's headers, whose
    credentials never reach the client)."""
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code, response.headers, response.content, sent=sent
        )
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc


async def retrieve(
    client: HttpClient, base_url: str, headers: Mapping[str, str], upstream_id: str
) -> UpstreamVideo:
    """The job as the upstream sees it; NotFound when the upstream no longer knows it."""
    try:
        response = await client.get(f"{base_url}/videos/{upstream_id}", headers=headers)
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code == 404:
        raise NotFound("The upstream provider no longer knows this video job.")
    return video_from(_json(response, headers))


async def content(
    client: HttpClient,
    base_url: str,
    headers: Mapping[str, str],
    upstream_id: str,
    variant: str,
) -> VideoContent:
    """The content, streamed: the upstream response stays open until the bytes are read."""
    try:
        response = await client.open(
            "GET",
            f"{base_url}/videos/{upstream_id}/content",
            params={"variant": variant},
            headers={**headers, "Accept": "application/binary"},
        )
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raw = await response.aread()
        await response.aclose()
        raise content_error(response.status_code, response.headers, raw, headers)
    media_type = response.headers.get("content-type", MEDIA_TYPES[variant])
    # A compressed body's length is not the length of the bytes we pass on.
    encoded = response.headers.get("content-encoding", "identity") != "identity"
    length = None if encoded else response.headers.get("content-length")
    return VideoContent(
        media_type.split(";")[0].strip(),
        _passed_on(response),
        int(length) if length and length.isdigit() else None,
    )


def content_error(
    status: int, headers: Mapping[str, str], raw: bytes, sent: Mapping[str, str]
) -> GatewayError:
    if status == 404:  # expired, or the variant does not exist for this job
        message, _, _ = upstream.openai_error_fields(_safe_json(raw))
        text = upstream.upstream_message(message or "not found", sent)
        return NotFound(
            f"The upstream provider has no such content: {text}",
            code="video_content_unavailable",
        )
    return upstream.status_error(status, headers, raw, sent=sent)


def _safe_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _passed_on(response: StreamedResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    finally:
        await response.aclose()
