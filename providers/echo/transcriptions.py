"""`writingmate/echo-transcribe`: an offline, deterministic transcriber, so the transcription
path is testable with no keys.

It reads only the file's header (providers.audio_headers) and "hears" two sentences, the
second telling the duration and container it found:

    This is the Writingmate echo transcriber. It heard 2.50 seconds of WAV audio.

The two sentences are the segments, sharing the duration in proportion to their words; words
are spread over their segment by length. Where the header holds no duration, it is estimated
from the size: 128 kbit/s for a recognised compressed container, 16 kHz 16-bit mono PCM for
anything else. Usage is reported by duration, as whisper-1 does, so a request counts one
message.
"""

from __future__ import annotations

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

INTRO = "This is the Writingmate echo transcriber."


def duration_of(info: AudioInfo, size: int) -> float:
    if info.duration is not None:
        return info.duration
    return size / (16_000 if info.format else 32_000)


def sentences(info: AudioInfo, duration: float) -> list[str]:
    container = info.format.upper() if info.format else "unrecognised"
    return [INTRO, f"It heard {duration:.2f} seconds of {container} audio."]


def timed(texts: list[str], duration: float) -> tuple[Segment, ...]:
    counts = [len(t.split()) for t in texts]
    total = sum(counts)
    segments, at = [], 0.0
    for text, count in zip(texts, counts, strict=True):
        end = at + duration * count / total
        segments.append(Segment(round(at, 3), round(end, 3), text))
        at = end
    return tuple(segments)


def transcript(info: AudioInfo, size: int, request: TranscriptionRequest) -> Transcript:
    duration = duration_of(info, size)
    segments = timed(sentences(info, duration), duration)
    temperature = request.fields.get("temperature")
    return Transcript(
        text=" ".join(s.text for s in segments),
        language=language_name(request.fields.get("language")),
        duration=duration,
        segments=segments,
        words=spread_words(segments),
        temperature=float(temperature) if isinstance(temperature, (int, float)) else 0.0,
    )


async def transcribe(request: TranscriptionRequest) -> TranscriptionResult:
    audio = request.audio
    info = inspect(await audio.head(HEAD_BYTES), audio.size, audio.filename)
    content, media_type = render(
        transcript(info, audio.size, request), request.response_format, request.granularities
    )
    return TranscriptionResult(content, media_type, usage=None)
