"""OpenAI's `POST /v1/audio/transcriptions`, and any OpenAI-compatible server that has it
(vLLM, for one): the form goes on as it came, with the upstream model id in place of our slug,
the file streamed from its spool (never whole in memory); the answer comes back as it was,
JSON or plain text, and its token usage (gpt-4o models) is read for metering.

Translation is pure (`form_parts`, `envelope`, `result_of`); `transcribe` only moves bytes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from providers.http import upstream
from providers.http.client import HttpClient, HttpError
from providers.transcripts import (
    APPLICATION_JSON,
    TEXT_PLAIN,
    TranscriptionRequest,
    TranscriptionResult,
    token_usage,
)

ACCEPT = "application/json, text/plain"


def url(base_url: str) -> str:
    return f"{base_url}/audio/transcriptions"


def form_parts(parts: Sequence[tuple[str, str]], upstream_id: str) -> list[tuple[str, str]]:
    """The text parts as sent, with the upstream's model id."""
    return [(name, upstream_id if name == "model" else value) for name, value in parts]


def _quoted(value: str) -> str:
    """A name or filename inside a quoted `Content-Disposition` parameter (as browsers do)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def envelope(
    parts: Sequence[tuple[str, str]], filename: str, content_type: str, boundary: str
) -> tuple[bytes, bytes]:
    """What goes before the file's bytes (the text parts, then the file part's headers) and
    what goes after them."""
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in parts
    )
    head += (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{_quoted(filename or "audio")}"'
        f"\r\nContent-Type: {content_type}\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def result_of(content: bytes, content_type: str) -> TranscriptionResult:
    """The upstream's answer as ours: JSON (`json`, `verbose_json`) or plain text."""
    if not content_type.lower().startswith(APPLICATION_JSON):
        return TranscriptionResult(content, TEXT_PLAIN)
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc
    if not isinstance(body, Mapping) or not isinstance(body.get("text"), str):
        raise UpstreamError("The upstream provider sent a malformed response.")
    return TranscriptionResult(content, APPLICATION_JSON, token_usage(body.get("usage")))


async def _stream(head: bytes, chunks: AsyncIterator[bytes], tail: bytes) -> AsyncIterator[bytes]:
    yield head
    async for chunk in chunks:
        yield chunk
    yield tail


async def transcribe(
    client: HttpClient,
    endpoint: str,
    headers: Mapping[str, str],
    request: TranscriptionRequest,
    model: ModelEntry,
) -> TranscriptionResult:
    audio = request.audio
    boundary = f"wmgw-{secrets.token_hex(16)}"
    parts = form_parts(request.parts, model.upstream_id)
    head, tail = envelope(parts, audio.filename, audio.content_type, boundary)
    sending = {
        **headers,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + audio.size + len(tail)),
    }
    try:
        response = await client.post(
            endpoint, content=_stream(head, audio.chunks(), tail), headers=sending
        )
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code, response.headers, response.content, sent=headers
        )
    return result_of(response.content, response.headers.get("content-type", ""))
