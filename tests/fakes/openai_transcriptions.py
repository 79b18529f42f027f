"""OpenAI's `POST /v1/audio/transcriptions` for the fake OpenAI upstream (
`CreateTranscriptionRequest` / `CreateTranscriptionResponseJson` / `...VerboseJson` in
openai-openapi-subset.yaml).

- The request is multipart: `file` (a file part with a filename whose extension is a supported
  format), `model`, and optionally `language`, `prompt`, `response_format`, `temperature`,
  `timestamp_granularities[]`, `include[]`. Missing parts and bad values get OpenAI's 400s.
- `whisper-1` serves every format and reports usage by duration; `gpt-4o-transcribe` and
  `gpt-4o-mini-transcribe` serve `json` and `text` only and report token usage.
- `json`/`verbose_json` answer `application/json`; `text`, `srt`, `vtt` answer `text/plain`.

Tests script it through `fake.transcriptions`::

    fake.transcriptions.reply("Bonjour.", input_tokens=30_000, output_tokens=2_000)
    fake.transcriptions.fail(429)
    fake.transcriptions.forms[-1].fields["model"]   # what the gateway sent
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import wave
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

JSON = dict[str, Any]
DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog. It was not amused."
MAX_BYTES = 26_214_400
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TOKEN_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")
MODELS = ("whisper-1", *TOKEN_MODELS)
EXTENSIONS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
LANGUAGES = {"en": "english", "fr": "french", "de": "german", "es": "spanish"}


def error(message: str, param: str | None = None, code: str | None = None, kind: str = "") -> JSON:
    return {
        "error": {
            "message": message,
            "type": kind or "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


@dataclass(frozen=True)
class TranscriptionReply:
    text: str = DEFAULT_TEXT
    duration: float | None = None  # seconds; from a WAV header, else 1.0, when not given
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class TranscriptionFailure:
    status: int
    body: JSON | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ReceivedForm:
    """One transcription request as the fake parsed it."""

    parts: list[tuple[str, str]]  # text parts, as named on the wire (`include[]`)
    filename: str | None
    file_content_type: str | None
    file_bytes: bytes
    content_type: str  # the request's own header
    content_length: str | None

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.parts)


Send = Callable[[int, bytes, str, Mapping[str, str] | None], Awaitable[None]]


@dataclass
class _Answer:
    text: str
    duration: float
    language: str
    usage: JSON
    granularities: list[str]

    def segments(self) -> list[tuple[float, float, str]]:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", self.text) if s] or [self.text]
        total = sum(len(s) for s in sentences) or 1
        at, timed = 0.0, []
        for sentence in sentences:
            end = at + self.duration * len(sentence) / total
            timed.append((round(at, 2), round(end, 2), sentence))
            at = end
        return timed

    def verbose(self, temperature: float) -> JSON:
        body: JSON = {
            "task": "transcribe",
            "language": self.language,
            "duration": self.duration,
            "text": self.text,
        }
        if "word" in self.granularities:
            words, span = self.text.split(), self.duration
            step = span / len(words) if words else 0.0
            body["words"] = [
                {
                    "word": w.strip(".,!?"),
                    "start": round(i * step, 2),
                    "end": round((i + 1) * step, 2),
                }
                for i, w in enumerate(words)
            ]
        if "segment" in self.granularities:
            body["segments"] = [
                {
                    "id": i,
                    "seek": 0,
                    "start": start,
                    "end": end,
                    "text": f" {text}",
                    "tokens": [50364 + i, 440, 2068, 50530],
                    "temperature": temperature,
                    "avg_logprob": -0.2860786020755768,
                    "compression_ratio": 1.2363636493682861,
                    "no_speech_prob": 0.00985979475080967,
                }
                for i, (start, end, text) in enumerate(self.segments())
            ]
        body["usage"] = self.usage
        return body

    def subtitles(self, kind: str) -> str:
        def clock(seconds: float) -> str:
            millis = round(seconds * 1000)
            sep = "," if kind == "srt" else "."
            h, m, s = millis // 3_600_000, millis // 60_000 % 60, millis // 1000 % 60
            return f"{h:02d}:{m:02d}:{s:02d}{sep}{millis % 1000:03d}"

        cues = [
            (f"{i}\n" if kind == "srt" else "") + f"{clock(a)} --> {clock(b)}\n{text}\n"
            for i, (a, b, text) in enumerate(self.segments(), start=1)
        ]
        return ("WEBVTT\n\n" if kind == "vtt" else "") + "\n".join(cues) + "\n"


def _wav_seconds(data: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(data)) as audio:
            return audio.getnframes() / audio.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


async def parse(
    raw: bytes, content_type: str
) -> tuple[list[tuple[str, str]], list[tuple[str, UploadFile]]]:
    async def stream() -> Any:
        yield raw

    form = await MultiPartParser(Headers({"content-type": content_type}), stream()).parse()
    texts = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
    return texts, files


class TranscriptionFake:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[TranscriptionReply | TranscriptionFailure] = deque()
        self._forms: list[ReceivedForm] = []

    def reply(self, text: str = DEFAULT_TEXT, **options: Any) -> None:
        with self._lock:
            self._script.append(TranscriptionReply(text, **options))

    def fail(
        self, status: int, body: JSON | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            self._script.append(TranscriptionFailure(status, body, headers))

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._forms.clear()

    @property
    def forms(self) -> list[ReceivedForm]:
        with self._lock:
            return list(self._forms)

    async def serve(self, headers: Mapping[str, str], raw: bytes, send: Send) -> None:
        content_type = headers.get("content-type", "")

        async def json_answer(
            status: int, body: JSON, extra: Mapping[str, str] | None = None
        ) -> None:
            await send(status, json.dumps(body, indent=2).encode(), "application/json", extra)

        if len(raw) > MAX_BYTES:
            message = f"Maximum content size limit ({MAX_BYTES}) exceeded ({len(raw)} bytes read)"
            await json_answer(413, error(message, kind="server_error"))
            return
        if not content_type.startswith("multipart/form-data"):
            await json_answer(400, error("Could not parse multipart form"))
            return
        try:
            texts, files = await parse(raw, content_type)
        except MultiPartException:
            await json_answer(400, error("Could not parse multipart form"))
            return
        upload = files[0][1] if files and files[0][0] == "file" else None
        data = await upload.read() if upload else b""
        with self._lock:
            self._forms.append(
                ReceivedForm(
                    texts,
                    upload.filename if upload else None,
                    upload.content_type if upload else None,
                    data,
                    content_type,
                    headers.get("content-length"),
                )
            )
            scripted = self._script.popleft() if self._script else TranscriptionReply()
        fields = dict(texts)
        refusal = self._refusal(fields, upload)
        if refusal is not None:
            status, body = refusal
            await json_answer(status, body)
            return
        if isinstance(scripted, TranscriptionFailure):
            body = scripted.body or error("The server had an error.", kind="server_error")
            await json_answer(scripted.status, body, scripted.headers)
            return
        answer = self._answer(fields, texts, data, scripted)
        response_format = fields.get("response_format", "json")
        if response_format == "json":
            await json_answer(200, {"text": answer.text, "usage": answer.usage})
        elif response_format == "verbose_json":
            await json_answer(200, answer.verbose(float(fields.get("temperature", 0))))
        elif response_format == "text":
            await send(200, f"{answer.text}\n".encode(), "text/plain; charset=utf-8", None)
        else:
            await send(
                200, answer.subtitles(response_format).encode(), "text/plain; charset=utf-8", None
            )

    @staticmethod
    def _refusal(fields: Mapping[str, str], upload: UploadFile | None) -> tuple[int, JSON] | None:
        model = fields.get("model")
        if upload is None:
            return 400, error(
                "Missing required parameter: 'file'.", "file", "missing_required_parameter"
            )
        if not model:
            return 400, error("you must provide a model parameter")
        if model not in MODELS:
            return 404, error(
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        extension = (upload.filename or "").rpartition(".")[2].lower()
        if extension not in EXTENSIONS:
            return 400, error(f"Invalid file format. Supported formats: {EXTENSIONS}")
        response_format = fields.get("response_format", "json")
        if response_format not in FORMATS:
            return 400, error(
                f"'{response_format}' is not one of {list(FORMATS)} - 'response_format'",
                "response_format",
            )
        if model in TOKEN_MODELS and response_format not in ("json", "text"):
            return 400, error(
                f"response_format '{response_format}' is not compatible with model "
                f"'{model}'. Use 'json' or 'text'.",
                "response_format",
                "unsupported_value",
            )
        return None

    @staticmethod
    def _answer(
        fields: Mapping[str, str],
        texts: list[tuple[str, str]],
        data: bytes,
        reply: TranscriptionReply,
    ) -> _Answer:
        duration = reply.duration if reply.duration is not None else (_wav_seconds(data) or 1.0)
        model = fields["model"]
        if model in TOKEN_MODELS:
            prompt = len(fields.get("prompt", "").split())
            audio = max(1, round(duration * 10))
            inputs = reply.input_tokens if reply.input_tokens is not None else prompt + audio
            outputs = (
                reply.output_tokens if reply.output_tokens is not None else len(reply.text.split())
            )
            usage: JSON = {
                "type": "tokens",
                "input_tokens": inputs,
                "input_token_details": {"text_tokens": prompt, "audio_tokens": inputs - prompt},
                "output_tokens": outputs,
                "total_tokens": inputs + outputs,
            }
        else:
            usage = {"type": "duration", "seconds": math.ceil(duration)}
        granularities = [
            v for k, v in texts if k in ("timestamp_granularities[]", "timestamp_granularities")
        ]
        language = LANGUAGES.get(fields.get("language", "en"), fields.get("language", "english"))
        return _Answer(reply.text, duration, language, usage, granularities or ["segment"])


__all__ = [
    "ReceivedForm",
    "TranscriptionFailure",
    "TranscriptionFake",
    "TranscriptionReply",
]
