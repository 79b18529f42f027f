"""Transcriptions on Gemini models (docs/TRANSCRIPTIONS.md): the audio goes in one
`generateContent` call, inline or uploaded first, with an instruction to transcribe it.

- `json`, `text`: Gemini is asked for the transcript alone; its text is the transcript.
- `srt`, `vtt`, `verbose_json`: Gemini is asked for JSON (`responseJsonSchema`): the language
  and sentence-long segments with start and end times in seconds, which are rendered here.
  **Approximate**: Gemini's timestamps come from the model, not from an aligner, and can drift
  by a second or more; word timestamps are spread over their segment by length; `duration` is
  read from the file's header (WAV, FLAC, MP3), else it is the last segment's end.
- Usage: Gemini's token counts (audio is 32 tokens a second) meter the request; `json` shows
  them as OpenAI's `{"type": "tokens", ...}` usage, `verbose_json` shows the duration.
- `language` and `prompt` become part of the instruction; `temperature` is passed on.
- Audio up to INLINE_LIMIT bytes goes inline (Gemini takes requests up to 20 MB, and base64
  grows by a third); a larger file is uploaded through the Files API first (resumable upload,
  streamed from the spool), referenced as `fileData`, and deleted afterwards.

Translation is pure (`to_upstream`, `result_of`); `transcribe` moves bytes, encoding the
request off the event loop.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import orjson
from yarl import URL

from domain.errors import InvalidRequest, UpstreamError, UpstreamTimeout
from domain.metering import Usage
from providers.audio_headers import HEAD_BYTES, AudioInfo, inspect
from providers.http import upstream
from providers.http.client import HttpClient, HttpError, Response
from providers.transcripts import (
    Audio,
    Segment,
    Transcript,
    TranscriptionRequest,
    TranscriptionResult,
    language_name,
    render,
    spread_words,
)

JSON = dict[str, Any]
API_VERSION = "v1beta"
INLINE_LIMIT = 14 * 1024 * 1024
PROCESSING_POLLS = 20
PROCESSING_POLL_SECONDS = 0.5
TIMED_FORMATS = frozenset({"srt", "vtt", "verbose_json"})
# What Gemini lists for audio input; anything else is sent as what its header says it is.
_MIME_BY_FORMAT = {
    "wav": "audio/wav",
    "mp3": "audio/mp3",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "webm": "audio/webm",
    "mp4": "audio/mp4",
}
_MIME_BY_EXTENSION = {
    "mpga": "audio/mp3",
    "mpeg": "audio/mp3",
    "m4a": "audio/mp4",
    "oga": "audio/ogg",
    "aac": "audio/aac",
    "aiff": "audio/aiff",
}

SEGMENTS_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "language": {
            "type": "string",
            "description": "ISO-639-1 code of the language spoken, such as en.",
        },
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "start": {"type": "number", "description": "Start, in seconds."},
                    "end": {"type": "number", "description": "End, in seconds."},
                    "text": {"type": "string"},
                },
                "required": ["start", "end", "text"],
            },
        },
    },
    "required": ["language", "segments"],
}


def mime_type(info: AudioInfo, content_type: str, filename: str) -> str:
    if info.format in _MIME_BY_FORMAT:
        return _MIME_BY_FORMAT[info.format]
    if content_type.startswith("audio/"):
        return content_type
    extension = filename.rpartition(".")[2].lower()
    return _MIME_BY_EXTENSION.get(extension, info.mime_type)


def instruction(fields: Mapping[str, Any], timed: bool) -> str:
    lines = ["Transcribe the speech in this audio verbatim, in the language it is spoken."]
    if fields.get("language"):
        lines.append(f"The audio is in {language_name(str(fields['language']))}.")
    if fields.get("prompt"):
        lines.append(
            "Use this text for the spelling of names and terms and as the preceding "
            f"context: {fields['prompt']}"
        )
    if timed:
        lines.append(
            "Split the transcript into segments of about one sentence each, with their start "
            "and end times in seconds from the beginning of the audio, and give the language."
        )
    else:
        lines.append("Reply with the transcript only: no title, no timestamps, no commentary.")
    return "\n".join(lines)


def inline_part(mime: str, data: str) -> JSON:
    return {"inlineData": {"mimeType": mime, "data": data}}


def file_part(mime: str, uri: str) -> JSON:
    return {"fileData": {"mimeType": mime, "fileUri": uri}}


def to_upstream(fields: Mapping[str, Any], audio: JSON, timed: bool) -> JSON:
    """A `GenerateContentRequest` for the audio part and the instruction."""
    config: JSON = {}
    if isinstance(fields.get("temperature"), (int, float)):
        config["temperature"] = fields["temperature"]
    if timed:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = SEGMENTS_SCHEMA
    request: JSON = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": instruction(fields, timed)},
                    audio,
                ],
            }
        ]
    }
    if config:
        request["generationConfig"] = config
    return request


def encode(fields: Mapping[str, Any], mime: str, audio: bytes, timed: bool) -> bytes:
    """The request body as bytes: base64 and JSON for megabytes of audio (run in a thread)."""
    data = base64.b64encode(audio).decode("ascii")
    return orjson.dumps(to_upstream(fields, inline_part(mime, data), timed))


def _counts(metadata: Mapping[str, Any]) -> tuple[int, int, int]:
    """(audio tokens, text tokens) of the prompt, and output tokens (with thinking)."""
    audio = sum(
        int(d.get("tokenCount") or 0)
        for d in metadata.get("promptTokensDetails") or []
        if isinstance(d, Mapping) and d.get("modality") == "AUDIO"
    )
    prompt = int(metadata.get("promptTokenCount") or 0)
    output = int(metadata.get("candidatesTokenCount") or 0)
    output += int(metadata.get("thoughtsTokenCount") or 0)
    return audio, max(0, prompt - audio), output


def usage_of(metadata: Any) -> tuple[JSON, Usage] | None:
    """OpenAI's token usage object and metering usage, from `usageMetadata`."""
    if not isinstance(metadata, Mapping) or "promptTokenCount" not in metadata:
        return None
    audio, text, output = _counts(metadata)
    shown = {
        "type": "tokens",
        "input_tokens": audio + text,
        "input_token_details": {"text_tokens": text, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + text + output,
    }
    return shown, Usage(prompt_tokens=audio + text, completion_tokens=output)


def answer_text(response: Mapping[str, Any]) -> str:
    """The first candidate's text (thoughts left out); 400 when the audio was blocked."""
    candidates = response.get("candidates")
    if not candidates:
        reason = (response.get("promptFeedback") or {}).get("blockReason")
        if reason:
            raise InvalidRequest(
                f"The upstream provider's safety filters blocked this audio ({reason}).",
                code="content_filter",
            )
        raise UpstreamError("The upstream provider sent a response without candidates.")
    parts = ((candidates[0] or {}).get("content") or {}).get("parts") or []
    return "".join(
        str(p.get("text") or "") for p in parts if isinstance(p, Mapping) and not p.get("thought")
    )


def _segments(text: str, finish: Any) -> tuple[str, tuple[Segment, ...]]:
    try:
        timed = json.loads(text)
        segments = tuple(
            Segment(max(0.0, float(s["start"])), max(0.0, float(s["end"])), str(s["text"]).strip())
            for s in timed["segments"]
        )
        language = str(timed.get("language") or "")
    except (ValueError, KeyError, TypeError) as exc:
        reason = f" (it stopped: {finish})" if finish and finish != "STOP" else ""
        raise UpstreamError(
            f"The upstream provider sent timestamps that could not be read{reason}."
        ) from exc
    return language, tuple(s for s in segments if s.text)


def transcript_of(
    response: Mapping[str, Any], request: TranscriptionRequest, info: AudioInfo
) -> tuple[Transcript, Usage | None]:
    text = answer_text(response)
    counted = usage_of(response.get("usageMetadata"))
    shown, usage = counted if counted else (None, None)
    temperature = request.fields.get("temperature")
    temperature = float(temperature) if isinstance(temperature, (int, float)) else 0.0
    if request.response_format not in TIMED_FORMATS:
        spoken = text.strip()
        duration = info.duration or 0.0
        segments: tuple[Segment, ...] = (Segment(0.0, duration, spoken),)
        transcript = Transcript(
            spoken,
            language_name(request.fields.get("language")),
            duration,
            segments,
            usage=shown,
            temperature=temperature,
        )
        return transcript, usage
    finish = ((response.get("candidates") or [{}])[0] or {}).get("finishReason")
    code, segments = _segments(text, finish)
    duration = (
        info.duration if info.duration is not None else max((s.end for s in segments), default=0.0)
    )
    transcript = Transcript(
        text=" ".join(s.text for s in segments),
        language=language_name(request.fields.get("language") or code),
        duration=duration,
        segments=segments,
        words=spread_words(segments),
        usage=shown,
        temperature=temperature,
    )
    return transcript, usage


def result_of(response: Any, request: TranscriptionRequest, info: AudioInfo) -> TranscriptionResult:
    if not isinstance(response, Mapping):
        raise UpstreamError("The upstream provider sent a malformed response.")
    transcript, usage = transcript_of(response, request, info)
    content, media_type = render(transcript, request.response_format, request.granularities)
    return TranscriptionResult(content, media_type, usage)


def same_origin(url: str, base_url: str) -> str:
    """The upload session URL on the configured host, as the SDK does: the file and the key
    never go to a host the operator did not configure."""
    base, given = URL(base_url), URL(url)
    return str(given.with_scheme(base.scheme).with_host(base.host or "").with_port(base.port))


@dataclass(frozen=True)
class Endpoint:
    """Where and how the provider reaches Gemini."""

    client: HttpClient
    base_url: str
    generate_url: str
    headers: Mapping[str, str]
    read_error: upstream.ErrorReader


async def _send(endpoint: Endpoint, method: str, url: str, **options: Any) -> Response:
    try:
        response = await endpoint.client.request(method, url, **options)
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code,
            response.headers,
            response.content,
            endpoint.read_error,
            sent=endpoint.headers,
        )
    return response


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc


async def _generate(endpoint: Endpoint, body: bytes) -> Any:
    headers = {**endpoint.headers, "Content-Type": "application/json"}
    response = await _send(endpoint, "POST", endpoint.generate_url, content=body, headers=headers)
    return _json(response)


async def _inline(endpoint: Endpoint, request: TranscriptionRequest) -> TranscriptionResult:
    audio = request.audio
    data = await audio.read()
    info = inspect(data[:HEAD_BYTES], len(data), audio.filename)
    mime = mime_type(info, audio.content_type, audio.filename)
    timed = request.response_format in TIMED_FORMATS
    body = await anyio.to_thread.run_sync(encode, request.fields, mime, data, timed)
    del data
    return result_of(await _generate(endpoint, body), request, info)


async def upload(endpoint: Endpoint, audio: Audio, mime: str) -> Mapping[str, Any]:
    """The Files API's resumable upload (start, then the bytes streamed from the spool in one
    finalizing request); the `File` resource, once ACTIVE."""
    start = {
        **endpoint.headers,
        "Content-Type": "application/json",
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(audio.size),
        "X-Goog-Upload-Header-Content-Type": mime,
    }
    named = orjson.dumps({"file": {"displayName": (audio.filename or "audio")[:512]}})
    url = f"{endpoint.base_url}/upload/{API_VERSION}/files"
    started = await _send(endpoint, "POST", url, content=named, headers=start)
    session = started.headers.get("x-goog-upload-url")
    if not session:
        raise UpstreamError("The upstream provider did not open an upload session.")
    sending = {
        **endpoint.headers,
        "X-Goog-Upload-Command": "upload, finalize",
        "X-Goog-Upload-Offset": "0",
        "Content-Length": str(audio.size),
    }
    url = same_origin(session, endpoint.base_url)
    done = await _send(endpoint, "POST", url, content=audio.chunks(), headers=sending)
    final = done.headers.get("x-goog-upload-status") == "final"
    file = (_json(done) or {}).get("file") if final else None
    if not isinstance(file, Mapping) or not file.get("uri") or not file.get("name"):
        raise UpstreamError("The upstream provider did not finish the upload.")
    return await _active(endpoint, file)


async def _active(endpoint: Endpoint, file: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(PROCESSING_POLLS):
        if file.get("state") in (None, "ACTIVE"):
            return file
        if file.get("state") == "FAILED":
            raise UpstreamError("The upstream provider could not process the audio file.")
        await anyio.sleep(PROCESSING_POLL_SECONDS)
        url = f"{endpoint.base_url}/{API_VERSION}/{file['name']}"
        file = _json(await _send(endpoint, "GET", url, headers=endpoint.headers))
    raise UpstreamTimeout("The upstream provider took too long to process the audio file.")


async def _delete(endpoint: Endpoint, name: str) -> None:
    """Best effort: an uploaded file expires by itself after 48 hours."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(10):
        try:
            url = f"{endpoint.base_url}/{API_VERSION}/{name}"
            await endpoint.client.delete(url, headers=endpoint.headers)
        except HttpError:
            pass


async def _uploaded(endpoint: Endpoint, request: TranscriptionRequest) -> TranscriptionResult:
    audio = request.audio
    info = inspect(await audio.head(HEAD_BYTES), audio.size, audio.filename)
    mime = mime_type(info, audio.content_type, audio.filename)
    file = await upload(endpoint, audio, mime)
    try:
        timed = request.response_format in TIMED_FORMATS
        part = file_part(str(file.get("mimeType") or mime), str(file["uri"]))
        body = orjson.dumps(to_upstream(request.fields, part, timed))
        return result_of(await _generate(endpoint, body), request, info)
    finally:
        await _delete(endpoint, str(file["name"]))


async def transcribe(endpoint: Endpoint, request: TranscriptionRequest) -> TranscriptionResult:
    """Small files go inline, in one call; larger ones through the Files API first."""
    if request.audio.size <= INLINE_LIMIT:
        return await _inline(endpoint, request)
    return await _uploaded(endpoint, request)
