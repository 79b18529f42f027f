"""The pure parts of transcriptions: audio headers, subtitle rendering, the multipart form's
resolution by the schema, and the OpenAI and Gemini translators."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.metering import Usage
from providers.audio_headers import inspect
from providers.gemini import transcriptions as gemini
from providers.openai_compatible import transcriptions as openai_tx
from providers.transcripts import (
    Segment,
    Transcript,
    render,
    spread_words,
    srt,
    token_usage,
    vtt,
)
from tests.audio_samples import flac_head, mp3_frames, silence, tone
from web.multipart import body_limit, coerce, file_limits, resolve

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary", "x-max-bytes": 100},
        "model": {"type": "string"},
        "temperature": {"type": "number"},
        "timestamp_granularities": {"type": "array", "items": {"type": "string"}},
        "n": {"type": "integer"},
        "flag": {"type": ["boolean", "null"]},
    },
}


# ---- audio headers ------------------------------------------------------------------------


def test_wav_duration_comes_from_its_data_chunk() -> None:
    audio = tone(1.25, rate=8_000)
    info = inspect(audio[:65536], len(audio))
    assert (info.format, info.mime_type, info.duration) == ("wav", "audio/wav", 1.25)


def test_wav_with_a_streaming_data_size_uses_the_file_size() -> None:
    audio = bytearray(silence(2.0))
    audio[40:44] = b"\xff\xff\xff\xff"
    assert inspect(bytes(audio[:100]), len(audio)).duration == 2.0


def test_flac_duration_comes_from_streaminfo() -> None:
    head = flac_head(3.5)
    assert inspect(head, 10_000).duration == 3.5


def test_mp3_duration_comes_from_the_bitrate_after_the_id3_tag() -> None:
    audio = mp3_frames(4.0, kbps=128)
    info = inspect(audio[:65536], len(audio))
    assert info.format == "mp3"
    assert info.duration == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize(
    ("head", "kind"),
    [(b"OggS\0\2", "ogg"), (b"\x1a\x45\xdf\xa3\x01", "webm"), (b"\0\0\0\x20ftypM4A ", "mp4")],
)
def test_other_containers_are_recognised_without_a_duration(head: bytes, kind: str) -> None:
    info = inspect(head, 1000)
    assert (info.format, info.duration) == (kind, None)


def test_unknown_bytes_keep_the_filenames_type() -> None:
    info = inspect(b"hello", 5, "notes.txt")
    assert (info.format, info.mime_type, info.duration) == ("", "text/plain", None)


# ---- rendering -----------------------------------------------------------------------------

SEGMENTS = (Segment(0.0, 1.5, "Hello there."), Segment(3599.9995, 3725.25, " Bye. "))


def test_srt_counts_hours_and_rounds_milliseconds() -> None:
    assert srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
        "2\n01:00:00,000 --> 01:02:05,250\nBye.\n\n"
    )


def test_vtt_of_no_segments_is_only_the_header() -> None:
    assert vtt(()) == "WEBVTT\n\n"
    assert srt(()) == ""


def test_words_share_their_segment_by_length() -> None:
    words = spread_words([Segment(1.0, 2.0, "ab abcd ab")])
    assert [(w.word, w.start, w.end) for w in words] == [
        ("ab", 1.0, 1.25),
        ("abcd", 1.25, 1.75),
        ("ab", 1.75, 2.0),
    ]


def test_json_shows_the_given_usage_else_the_duration() -> None:
    transcript = Transcript("Hi.", "english", 1.2, (Segment(0, 1.2, "Hi."),))
    body, media = render(transcript, "json", frozenset({"segment"}))
    assert media == "application/json"
    assert json.loads(body) == {"text": "Hi.", "usage": {"type": "duration", "seconds": 2}}


def test_token_usage_is_read_only_from_token_reports() -> None:
    assert token_usage({"type": "tokens", "input_tokens": 5, "output_tokens": 2}) == Usage(5, 2)
    assert token_usage({"type": "duration", "seconds": 3}) is None
    assert token_usage({"type": "tokens", "input_tokens": "5", "output_tokens": 2}) is None


# ---- multipart resolution ------------------------------------------------------------------


def test_parts_are_resolved_by_the_schema() -> None:
    parts = [
        ("model", "m"),
        ("temperature", "0.5"),
        ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"),
        ("n", "3"),
        ("flag", "true"),
        ("extra", "kept"),
    ]
    assert resolve(parts, SCHEMA) == {
        "model": "m",
        "temperature": 0.5,
        "timestamp_granularities": ["word", "segment"],
        "n": 3,
        "flag": True,
        "extra": "kept",
    }


def test_a_single_value_sent_twice_stays_a_list_for_the_schema_to_refuse() -> None:
    assert resolve([("model", "a"), ("model", "b")], SCHEMA) == {"model": ["a", "b"]}


def test_null_is_read_where_the_schema_allows_it() -> None:
    assert coerce("null", {"type": ["boolean", "null"]}) is None
    assert coerce("null", {"type": "string"}) == "null"


@pytest.mark.parametrize("value", ["warm", "nan", "inf", "1e999", ""])
def test_text_that_is_not_a_finite_number_stays_text(value: str) -> None:
    assert coerce(value, {"type": "number"}) == value


def test_body_limit_is_the_files_plus_room_for_fields() -> None:
    limits = file_limits(SCHEMA)
    assert limits == {"file": 100}
    assert body_limit(limits) == 100 + 1024 * 1024
    assert body_limit({"file": None}) is None


# ---- OpenAI --------------------------------------------------------------------------------

MODEL = ModelEntry("openai/whisper-1", "openai", "whisper-1", 0, "openai")


def test_the_form_passes_on_in_order_with_the_upstream_model() -> None:
    parts = openai_tx.form_parts([("model", "openai/whisper-1"), ("include[]", "logprobs")], "w-1")
    head, tail = openai_tx.envelope(parts, 'my "talk".wav', "audio/wav", "B")
    assert head == (
        b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nw-1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="include[]"\r\n\r\nlogprobs\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="my %22talk%22.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n"
    )
    assert tail == b"\r\n--B--\r\n"


def test_openai_json_answer_keeps_its_bytes_and_reads_token_usage() -> None:
    usage = {"type": "tokens", "input_tokens": 9, "output_tokens": 1, "total_tokens": 10}
    raw = json.dumps({"text": "Hi", "usage": usage}).encode()
    result = openai_tx.result_of(raw, "application/json")
    assert (result.content, result.usage) == (raw, Usage(9, 1))
    text = openai_tx.result_of(b"1\n00:00:00,000 --> ...", "text/plain; charset=utf-8")
    assert (text.media_type, text.usage) == ("text/plain; charset=utf-8", None)


def test_openai_malformed_json_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError):
        openai_tx.result_of(b"{}", "application/json")


# ---- Gemini --------------------------------------------------------------------------------


def test_gemini_request_for_timed_formats_asks_for_json_segments() -> None:
    audio = gemini.inline_part("audio/wav", "QUJD")
    request = gemini.to_upstream({"temperature": 0.2, "language": "fr"}, audio, True)
    instruction, inline = request["contents"][0]["parts"]
    assert "french" in instruction["text"] and "seconds" in instruction["text"]
    assert inline == {"inlineData": {"mimeType": "audio/wav", "data": "QUJD"}}
    config = request["generationConfig"]
    assert config["temperature"] == 0.2 and config["responseMimeType"] == "application/json"
    plain = gemini.to_upstream({}, gemini.file_part("audio/mp3", "https://g/v1beta/files/x"), False)
    assert "generationConfig" not in plain
    assert plain["contents"][0]["parts"][1] == {
        "fileData": {"mimeType": "audio/mp3", "fileUri": "https://g/v1beta/files/x"}
    }


def test_gemini_upload_session_stays_on_the_configured_host() -> None:
    url = gemini.same_origin(
        "https://upload.elsewhere.example/upload/v1beta/files?upload_id=abc", "http://127.0.0.1:9"
    )
    assert url == "http://127.0.0.1:9/upload/v1beta/files?upload_id=abc"


def test_gemini_usage_splits_audio_and_text_tokens() -> None:
    metadata = {
        "promptTokenCount": 90,
        "candidatesTokenCount": 10,
        "thoughtsTokenCount": 5,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 10},
            {"modality": "AUDIO", "tokenCount": 80},
        ],
    }
    shown, usage = gemini.usage_of(metadata) or ({}, Usage())
    assert shown == {
        "type": "tokens",
        "input_tokens": 90,
        "input_token_details": {"text_tokens": 10, "audio_tokens": 80},
        "output_tokens": 15,
        "total_tokens": 105,
    }
    assert usage == Usage(90, 15)


def test_gemini_blocked_audio_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        gemini.answer_text({"promptFeedback": {"blockReason": "SAFETY"}})
    with pytest.raises(UpstreamError):
        gemini.answer_text({"candidates": []})


def test_gemini_thoughts_are_not_transcript() -> None:
    response = {
        "candidates": [
            {"content": {"parts": [{"text": "Hmm.", "thought": True}, {"text": "Hello."}]}}
        ]
    }
    assert gemini.answer_text(response) == "Hello."
