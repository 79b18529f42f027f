"""`POST /audio/transcriptions` on the offline echo transcriber with the official `openai` SDK:
every response format, timestamp granularities, streamed word deltas, raw PCM, and metering."""

from __future__ import annotations

from tests.audio_samples import tone
from tests.conftest import Gateway
from tests.transcriptions_helpers import ECHO

HEARD = "This is the Writingmate echo transcriber. It heard 2.50 seconds of WAV audio."


def test_json_is_the_default_with_duration_usage_and_one_message(gateway: Gateway) -> None:
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model=ECHO, file=("tone.wav", tone(2.5), "audio/wav")
    )
    result = raw.parse()
    assert result.text == HEARD
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == 3
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    rows = gateway.ledger()
    assert [(r["endpoint"], r["model"], r["messages"], r["status"]) for r in rows] == [
        ("audio.transcriptions", ECHO, 1, "completed")
    ]


def test_text_is_plain_text_and_the_sdk_returns_a_string(gateway: Gateway) -> None:
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model=ECHO, file=("tone.wav", tone(2.5)), response_format="text"
    )
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.parse() == f"{HEARD}\n"


def test_srt_numbers_its_cues_with_comma_milliseconds(gateway: Gateway) -> None:
    srt = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("tone.wav", tone(2.5)), response_format="srt"
    )
    assert srt == (
        "1\n00:00:00,000 --> 00:00:01,154\nThis is the Writingmate echo transcriber.\n\n"
        "2\n00:00:01,154 --> 00:00:02,500\nIt heard 2.50 seconds of WAV audio.\n\n"
    )


def test_vtt_has_its_header_and_dot_milliseconds(gateway: Gateway) -> None:
    vtt = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("tone.wav", tone(2.5)), response_format="vtt"
    )
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.154\nThis is the Writingmate echo transcriber.\n\n"
        "00:00:01.154 --> 00:00:02.500\nIt heard 2.50 seconds of WAV audio.\n\n"
    )


def test_verbose_json_gives_segments_by_default(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("tone.wav", tone(2.5)), response_format="verbose_json", language="fr"
    )
    assert (result.duration, result.language, result.text) == (2.5, "french", HEARD)
    assert result.words is None
    assert [(s.id, s.start, s.end) for s in result.segments or []] == [
        (0, 0.0, 1.154),
        (1, 1.154, 2.5),
    ]
    assert result.usage is not None and result.usage.seconds == 3


def test_timestamp_granularities_word_and_segment(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=ECHO,
        file=("tone.wav", tone(2.5)),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    words = result.words or []
    assert [w.word for w in words] == HEARD.split()
    assert words[0].start == 0.0 and words[-1].end == 2.5
    assert all(a.end == b.start for a, b in zip(words, words[1:], strict=False))
    assert result.segments is not None and len(result.segments) == 2


def test_word_granularity_alone_leaves_out_segments(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=ECHO,
        file=("tone.wav", tone(1.0)),
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert result.segments is None and result.words


async def test_async_client_transcribes_too(gateway: Gateway) -> None:
    async with gateway.async_client() as client:
        result = await client.audio.transcriptions.create(model=ECHO, file=("tone.wav", tone(2.5)))
    assert result.text == HEARD


def test_stream_gives_word_deltas_then_done(gateway: Gateway) -> None:
    with gateway.client().audio.transcriptions.with_streaming_response.create(
        model=ECHO, file=("tone.wav", tone(2.5)), stream=True
    ) as response:
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["x-writingmate-messages-counted"] == "1"
        events = list(response.parse())
    deltas, done = events[:-1], events[-1]
    assert [e.type for e in deltas] == ["transcript.text.delta"] * len(HEARD.split())
    assert "".join(e.delta for e in deltas) == HEARD  # type: ignore[union-attr]
    assert done.type == "transcript.text.done" and done.text == HEARD
    assert done.usage is None  # echo reports duration, which the event has no room for
    assert gateway.ledger()[-1]["messages"] == 1


def test_stream_of_text_format_streams_too(gateway: Gateway) -> None:
    stream = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("tone.wav", tone(2.5)), stream=True, response_format="text"
    )
    assert [e.text for e in stream if e.type == "transcript.text.done"] == [HEARD]


def test_stream_is_ignored_for_verbose_json(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": ECHO, "stream": "true", "response_format": "verbose_json"},
            files={"file": ("a.wav", tone(1), "audio/wav")},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["duration"] == 1.0


def test_unrecognised_bytes_are_timed_as_raw_pcm(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("noise.bin", b"\x01" * 64_000)
    )
    assert result.text.endswith("It heard 2.00 seconds of unrecognised audio.")
