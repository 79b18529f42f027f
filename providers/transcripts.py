"""What every transcription provider shares: the request it is given, the result it returns,
and the pure renderers from a timed transcript to OpenAI's five `response_format`s
(`json`, `text`, `srt`, `vtt`, `verbose_json`), for providers that do not render them
themselves (the offline echo model, Gemini)."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.metering import Usage

JSON_FORMATS = frozenset({"json", "verbose_json"})
TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
TEXT_PLAIN = "text/plain; charset=utf-8"
APPLICATION_JSON = "application/json"

# ISO-639-1 -> the English name verbose_json reports (Whisper's names, the common ones).
LANGUAGE_NAMES = {
    "ar": "arabic",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "he": "hebrew",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "th": "thai",
    "tr": "turkish",
    "uk": "ukrainian",
    "vi": "vietnamese",
    "zh": "chinese",
}


def language_name(code: str | None, default: str = "english") -> str:
    if not code:
        return default
    return LANGUAGE_NAMES.get(code.lower(), code.lower())


class Audio(Protocol):
    """The uploaded file, spooled by the gateway (to disk beyond a small size)."""

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int: ...

    async def head(self, size: int) -> bytes:
        """The first `size` bytes (the file's header)."""
        ...

    async def read(self) -> bytes:
        """The whole file (off the event loop once it is on disk)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The whole file in pieces, for streaming it upstream."""
        ...


@dataclass(frozen=True)
class TranscriptionRequest:
    """A validated `POST /audio/transcriptions`. `fields` are the form's fields resolved by the
    spec (`temperature` a number, `timestamp_granularities` a list); `parts` are the text
    parts exactly as sent, in order, for providers that pass the form on."""

    audio: Audio
    fields: Mapping[str, Any]
    parts: Sequence[tuple[str, str]] = ()

    @property
    def model(self) -> str:
        return str(self.fields["model"])

    @property
    def response_format(self) -> str:
        return str(self.fields.get("response_format") or "json")

    @property
    def streamed(self) -> bool:
        """`stream: true` on a format that streams (OpenAI ignores it for the others)."""
        return self.fields.get("stream") is True and self.response_format in STREAMED_FORMATS

    @property
    def granularities(self) -> frozenset[str]:
        return frozenset(self.fields.get("timestamp_granularities") or ["segment"])


@dataclass(frozen=True)
class TranscriptionResult:
    """The response body as the client gets it, and what metering needs: token usage when the
    upstream reported some (None: the request counts one message)."""

    content: bytes
    media_type: str
    usage: Usage | None = None


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """A timed transcript, the common ground for rendering every format."""

    text: str
    language: str  # English name, as verbose_json reports it
    duration: float
    segments: tuple[Segment, ...]
    words: tuple[Word, ...] = ()
    usage: Mapping[str, Any] | None = None  # OpenAI's usage object, shown by `json`
    temperature: float = 0.0


def token_usage(usage: Any) -> Usage | None:
    """Metering usage from OpenAI's transcription usage; None for `{"type": "duration"}`."""
    if not isinstance(usage, Mapping) or usage.get("type") != "tokens":
        return None
    prompt = usage.get("input_tokens")
    completion = usage.get("output_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=max(0, prompt), completion_tokens=max(0, completion))


def duration_usage(duration: float) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(duration)}


def spread_words(segments: Sequence[Segment]) -> tuple[Word, ...]:
    """Word timestamps inside each segment, in proportion to each word's length (an estimate
    for providers that only time segments)."""
    words: list[Word] = []
    for segment in segments:
        pieces = segment.text.split()
        total = sum(len(p) for p in pieces)
        span = max(0.0, segment.end - segment.start)
        at = segment.start
        for piece in pieces:
            end = at + span * len(piece) / total if total else at
            words.append(Word(piece, round(at, 3), round(end, 3)))
            at = end
    return tuple(words)


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks) + ("\n" if blocks else "")


def vtt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text.strip()}\n" for s in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks) + ("\n" if blocks else "")


def _compression_ratio(text: str) -> float:
    raw = text.encode()
    return round(len(raw) / len(zlib.compress(raw)), 3) if raw else 0.0


def verbose_json(transcript: Transcript, granularities: frozenset[str]) -> dict[str, Any]:
    """OpenAI's `TranscriptionVerbose`. Whisper's per-segment decoder figures (token ids,
    log-probabilities, no-speech probability) have no equivalent here: `tokens` is empty and
    the probabilities are neutral; the compression ratio is computed from the text."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": transcript.language,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    if "word" in granularities:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in transcript.words]
    if "segment" in granularities:
        body["segments"] = [
            {
                "id": i,
                "seek": int(s.start * 100),
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "tokens": [],
                "temperature": transcript.temperature,
                "avg_logprob": 0.0,
                "compression_ratio": _compression_ratio(s.text),
                "no_speech_prob": 0.0,
            }
            for i, s in enumerate(transcript.segments)
        ]
    body["usage"] = duration_usage(transcript.duration)
    return body


def render(
    transcript: Transcript, response_format: str, granularities: frozenset[str]
) -> tuple[bytes, str]:
    """The body and media type OpenAI answers with for `response_format`. `text`, `srt` and
    `vtt` are plain text: the SDKs pick their parser by the content type."""
    if response_format == "text":
        return f"{transcript.text}\n".encode(), TEXT_PLAIN
    if response_format == "srt":
        return srt(transcript.segments).encode(), TEXT_PLAIN
    if response_format == "vtt":
        return vtt(transcript.segments).encode(), TEXT_PLAIN
    if response_format == "verbose_json":
        return json.dumps(verbose_json(transcript, granularities)).encode(), APPLICATION_JSON
    body: dict[str, Any] = {"text": transcript.text}
    body["usage"] = dict(transcript.usage or duration_usage(transcript.duration))
    return json.dumps(body).encode(), APPLICATION_JSON


STREAMED_FORMATS = frozenset({"json", "text"})
_PIECE = re.compile(r"\s*\S+")


def stream_events(result: TranscriptionResult) -> list[dict[str, Any]]:
    """OpenAI's transcription stream for a finished `json` or `text` result: the transcript
    as `transcript.text.delta` events, a word each, then `transcript.text.done` with the token
    usage when there is one (the event has no room for duration usage)."""
    if result.media_type == APPLICATION_JSON:
        body = json.loads(result.content)
        text, usage = str(body.get("text") or ""), body.get("usage")
    else:
        text, usage = result.content.decode().removesuffix("\n"), None
    events: list[dict[str, Any]] = [
        {"type": "transcript.text.delta", "delta": piece} for piece in _PIECE.findall(text)
    ]
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text}
    if isinstance(usage, Mapping) and usage.get("type") == "tokens":
        done["usage"] = dict(usage)
    return [*events, done]
