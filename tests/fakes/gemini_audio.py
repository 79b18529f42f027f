"""Audio input for the fake Gemini API: `inlineData` parts with an
`audio/*` MIME type, as Gemini takes them for transcription.

- Audio comes inline or as a `fileData.fileUri` uploaded through the fake's Files API
  (gemini_files.py); an unknown file is Google's 403.
- The request may be at most 20 MB (`Request payload size exceeds the limit`), inline data must
  be valid base64, and the MIME type one Gemini reads; otherwise Google's 400s.
- Audio costs 32 tokens a second, reported under the `AUDIO` modality of
  `promptTokensDetails`; a WAV file's duration is read from its header, anything else is timed
  as 16 kHz 16-bit mono PCM.
- Unscripted, the answer to audio is DEFAULT_TRANSCRIPT; when `generationConfig` asks for JSON
  with a schema that has `segments`, it is `{"language": "en", "segments": [...]}`, one segment
  a sentence, timed over the audio's duration.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import wave
from collections.abc import Mapping
from typing import Any

from .gemini_files import FilesApi

REQUEST_LIMIT = 20 * 1024 * 1024
TOKENS_PER_SECOND = 32
DEFAULT_TRANSCRIPT = "Hello from the fake Gemini transcriber. The audio was clear."
_READABLE = ("audio/", "image/", "video/", "text/plain", "application/pdf")


def _inline(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Inline data parts, camelCase or snake_case (the SDK sends `inline_data`/`mime_type`),
    as `{"mimeType", "data"}`."""
    found = []
    for i, content in enumerate(body.get("contents") or []):
        for j, part in enumerate(content.get("parts") or []):
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(part, Mapping) and isinstance(inline, Mapping):
                data = {"mimeType": inline.get("mimeType") or inline.get("mime_type")}
                found.append((f"contents[{i}].parts[{j}].inline_data", {**data, **inline}))
    return found


def _decode(data: Any) -> bytes:
    """Proto JSON bytes: standard or URL-safe base64 (the SDK sends URL-safe), padding optional."""
    text = str(data or "").replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _uploaded(body: Mapping[str, Any]) -> list[str]:
    """The `fileUri`s of `fileData` parts (camelCase or snake_case)."""
    uris = []
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            data = part.get("fileData") or part.get("file_data")
            if isinstance(data, Mapping):
                uris.append(str(data.get("fileUri") or data.get("file_uri") or ""))
    return uris


def refusal(body: Mapping[str, Any], size: int, files: FilesApi) -> tuple[int, str] | None:
    if size > REQUEST_LIMIT:
        return 400, f"Request payload size exceeds the limit: {REQUEST_LIMIT} bytes."
    for where, inline in _inline(body):
        mime = str(inline.get("mimeType") or "")
        if not mime.startswith(_READABLE):
            return 400, f"Unsupported MIME type: {mime}"
        try:
            _decode(inline.get("data"))
        except (binascii.Error, ValueError):
            return 400, f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed"
    for uri in _uploaded(body):
        if files.content(uri) is None:
            return 403, (
                f"You do not have permission to access the File {uri.rsplit('/', 1)[-1]} "
                "or it may not exist."
            )
    return None


def _audio(body: Mapping[str, Any], files: FilesApi) -> list[bytes]:
    """The bytes of every audio part, inline or uploaded."""
    found = [
        _decode(inline.get("data"))
        for _, inline in _inline(body)
        if str(inline.get("mimeType") or "").startswith("audio/")
    ]
    for uri in _uploaded(body):
        stored = files.content(uri)
        if stored and stored[0].startswith("audio/"):
            found.append(stored[1])
    return found


def _seconds(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as audio:
            return audio.getnframes() / audio.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return len(data) / 32_000


def audio_seconds(body: Mapping[str, Any], files: FilesApi) -> float:
    return sum(_seconds(data) for data in _audio(body, files))


def audio_tokens(body: Mapping[str, Any], files: FilesApi) -> int:
    return math.ceil(audio_seconds(body, files) * TOKENS_PER_SECOND)


def _wants_segments(body: Mapping[str, Any]) -> bool:
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    return config.get("responseMimeType") == "application/json" and "segments" in json.dumps(schema)


def transcript(body: Mapping[str, Any], files: FilesApi) -> str | None:
    """The unscripted answer to a request with audio (None without audio)."""
    if not _audio(body, files):
        return None
    if not _wants_segments(body):
        return DEFAULT_TRANSCRIPT
    sentences = re.split(r"(?<=[.!?])\s+", DEFAULT_TRANSCRIPT)
    duration = audio_seconds(body, files)
    total = sum(len(s) for s in sentences)
    segments, at = [], 0.0
    for sentence in sentences:
        end = at + duration * len(sentence) / total
        segments.append({"start": round(at, 2), "end": round(end, 2), "text": sentence})
        at = end
    return json.dumps({"language": "en", "segments": segments})


def prompt_details(prompt: int, audio: int) -> list[dict[str, Any]]:
    details = [{"modality": "TEXT", "tokenCount": prompt - audio}]
    if audio:
        details.append({"modality": "AUDIO", "tokenCount": audio})
    return details
