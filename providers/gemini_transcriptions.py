"""Transcriptions on Gemini models: the audio goes inline (`inlineData`, base64) in one
`generateContent` call, with an instruction to transcribe it (PROVIDERS.md section 2).

- `json`, `text`: Gemini is asked for the transcript alone; its text is the transcript.
- `srt`, `vtt`, `verbose_json`: Gemini is asked for JSON (`responseJsonSchema`): the language
  and sentence-long segments with start and end times in seconds, which are rendered here.
  **Approximate**: Gemini's timestamps come from the model, not from an aligner, and can drift
  by a second or more; word timestamps are spread over their segment by length; `duration` is
  read from the file's header (WAV, FLAC, MP3), else it is the last segment's end.
- Usage: Gemini's token counts (audio is 32 tokens a second) meter the request; `json` shows
  them as OpenAI's `{"type": "tokens", ...}` usage, `verbose_json` shows the duration.
- `language` and `prompt` become part of the instruction; `temperature` is passed on.
- Audio is sent inline, so a file may be at most INLINE_LIMIT bytes (Gemini takes requests up
  to 20 MB, and base64 grows by a third); the Files API is not used.

Translation is pure (`to_upstream`, `result_of`); `transcribe` moves bytes, encoding the
request off the event loop.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
import httpx
import orjson

from domain.errors import InvalidRequest, PayloadTooLarge, UpstreamError
from domain.metering import Usage
from providers import upstream
from providers.audio_headers import HEAD_BYTES, AudioInfo, inspect
from providers.transcripts import (
    Segment,
    Transcript,
    TranscriptionRequest,
    TranscriptionResult,
    language_name,
    render,
    spread_words,
)

JSON = dict[str, Any]
INLINE_LIMIT = 14 * 1024 * 1024
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


def to_upstream(fields: Mapping[str, Any], mime: str, data: str, timed: bool) -> JSON:
    """A `GenerateContentRequest` for the audio (base64 `data`) and the instruction."""
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
                    {"inlineData": {"mimeType": mime, "data": data}},
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
    return orjson.dumps(to_upstream(fields, mime, data, timed))


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


def too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Gemini models take audio up to {INLINE_LIMIT / 1024 / 1024:g} MB "
        f"({INLINE_LIMIT} bytes) through this gateway; this file has {size} bytes.",
        param="file",
    )


async def transcribe(
    client: httpx.AsyncClient,
    endpoint: httpx.URL | str,
    headers: Mapping[str, str],
    request: TranscriptionRequest,
    read_error: upstream.ErrorReader,
) -> TranscriptionResult:
    audio = request.audio
    if audio.size > INLINE_LIMIT:
        raise too_large(audio.size)
    data = await audio.read()
    info = inspect(data[:HEAD_BYTES], len(data), audio.filename)
    mime = mime_type(info, audio.content_type, audio.filename)
    timed = request.response_format in TIMED_FORMATS
    body = await anyio.to_thread.run_sync(encode, request.fields, mime, data, timed)
    del data
    sending = {**headers, "Content-Type": "application/json"}
    try:
        response = await client.post(endpoint, content=body, headers=sending)
    except httpx.HTTPError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code, response.headers, response.content, read_error
        )
    try:
        answer = response.json()
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc
    return result_of(answer, request, info)
