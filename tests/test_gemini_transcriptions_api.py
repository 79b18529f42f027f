"""Transcriptions on a Gemini model end to end: the official `openai` SDK talks to a real
gateway, which sends the audio inline to the fake Gemini upstream."""

from __future__ import annotations

import base64
import json

import openai
import pytest

from tests.audio_samples import silence, tone
from tests.conftest import Gateway
from tests.fakes.gemini_audio import DEFAULT_TRANSCRIPT
from tests.fakes.gemini_upstream import FakeGeminiUpstream

MODEL = "google/gemini-2.5-flash"


@pytest.fixture
def fake(fake_gemini: FakeGeminiUpstream) -> FakeGeminiUpstream:
    return fake_gemini


@pytest.fixture
def gateway(gemini_gateway: Gateway) -> Gateway:
    return gemini_gateway


def test_json_sends_the_audio_inline_and_shows_token_usage(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    audio = tone(2.5)
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model=MODEL, file=("talk.wav", audio, "audio/wav"), language="de", prompt="Kafka"
    )
    result = raw.parse()
    assert result.text == DEFAULT_TRANSCRIPT
    assert result.usage is not None and result.usage.type == "tokens"
    assert result.usage.input_token_details is not None
    assert result.usage.input_token_details.audio_tokens == 80
    sent = fake.requests[-1]
    assert sent.model == "gemini-2.5-flash" and not sent.stream
    instruction, inline = sent.body["contents"][0]["parts"]
    assert "german" in instruction["text"] and "Kafka" in instruction["text"]
    assert inline["inlineData"]["mimeType"] == "audio/wav"
    assert base64.b64decode(inline["inlineData"]["data"]) == audio
    assert "responseMimeType" not in sent.body.get("generationConfig", {})
    assert raw.headers["x-writingmate-messages-counted"] == "1"


def test_text_is_the_transcript_as_plain_text(gateway: Gateway) -> None:
    text = gateway.client().audio.transcriptions.create(
        model=MODEL, file=("talk.wav", tone(1.0)), response_format="text"
    )
    assert text == f"{DEFAULT_TRANSCRIPT}\n"


def test_srt_is_built_from_geminis_timed_segments(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    srt = gateway.client().audio.transcriptions.create(
        model=MODEL, file=("talk.wav", tone(2.0)), response_format="srt"
    )
    assert srt == (
        "1\n00:00:00,000 --> 00:00:01,320\nHello from the fake Gemini transcriber.\n\n"
        "2\n00:00:01,320 --> 00:00:02,000\nThe audio was clear.\n\n"
    )
    config = fake.requests[-1].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "segments" in config["responseJsonSchema"]["properties"]


def test_verbose_json_has_language_duration_words_and_segments(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=MODEL,
        file=("talk.wav", tone(2.0)),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        temperature=0.3,
    )
    assert (result.language, result.duration, result.text) == ("english", 2.0, DEFAULT_TRANSCRIPT)
    assert [w.word for w in result.words or []] == DEFAULT_TRANSCRIPT.split()
    assert [(s.start, s.end) for s in result.segments or []] == [(0.0, 1.32), (1.32, 2.0)]
    assert result.segments is not None and result.segments[0].temperature == 0.3


def test_vtt_from_a_scripted_answer(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    segments = [
        {"start": 0, "end": 61.5, "text": "Un."},
        {"start": 61.5, "end": 3725, "text": "Deux."},
    ]
    fake.reply(json.dumps({"language": "fr", "segments": segments}))
    vtt = gateway.client().audio.transcriptions.create(
        model=MODEL, file=("talk.wav", tone(0.5)), response_format="vtt"
    )
    assert vtt == (
        "WEBVTT\n\n00:00:00.000 --> 00:01:01.500\nUn.\n\n00:01:01.500 --> 01:02:05.000\nDeux.\n\n"
    )


def test_unreadable_timestamps_are_a_502(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply('{"segments": [{"start": "soon"', finish_reason="MAX_TOKENS")
    with pytest.raises(openai.APIStatusError) as raised:
        gateway.client().audio.transcriptions.create(
            model=MODEL, file=("talk.wav", tone(0.5)), response_format="srt"
        )
    assert raised.value.status_code == 502 and "MAX_TOKENS" in raised.value.message
    row = gateway.ledger()[-1]
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 502, 0)


def test_large_token_usage_counts_more_messages(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply("A long meeting.", prompt_tokens=40_000, candidates_tokens=2_000)
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model=MODEL, file=("talk.wav", tone(0.5))
    )
    assert raw.parse().text == "A long meeting."
    assert raw.headers["x-writingmate-messages-counted"] == "3"
    row = gateway.ledger()[-1]
    assert (row["endpoint"], row["provider"], row["prompt_tokens"], row["messages"]) == (
        "audio.transcriptions",
        "google",
        40_000,
        3,
    )


def test_blocked_audio_is_a_400(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(block_reason="SAFETY")
    with pytest.raises(openai.BadRequestError) as raised:
        gateway.client().audio.transcriptions.create(model=MODEL, file=("talk.wav", tone(0.5)))
    assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "content_filter"


def test_upstream_rate_limit_is_a_429(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.fail(429)
    with pytest.raises(openai.RateLimitError) as raised:
        gateway.client().audio.transcriptions.create(model=MODEL, file=("talk.wav", tone(0.5)))
    assert raised.value.response.headers["retry-after-ms"] == "37000"


def test_file_too_large_to_send_inline_goes_through_the_files_api(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    audio = silence(15 * 1024 * 1024 / 8_000)  # 15 MB: too large to go inline
    result = gateway.client().audio.transcriptions.create(
        model=MODEL, file=("long.wav", audio), response_format="verbose_json"
    )
    assert result.text == DEFAULT_TRANSCRIPT and result.duration == pytest.approx(1966.08)
    start, chunk, generate, delete = fake.requests
    assert (start.path, start.headers["x-goog-upload-command"]) == ("/upload/v1beta/files", "start")
    assert start.headers["x-goog-upload-header-content-length"] == str(len(audio))
    assert start.headers["x-goog-upload-header-content-type"] == "audio/wav"
    assert chunk.headers["x-goog-upload-command"] == "upload, finalize"
    file_data = generate.body["contents"][0]["parts"][1]["fileData"]
    assert file_data["mimeType"] == "audio/wav"
    assert file_data["fileUri"].endswith(fake.files.deleted[0])
    assert delete.method == "DELETE" and fake.files.names == []


def test_failed_upload_is_an_upstream_error_and_costs_nothing(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.fail(503)  # the generate call after the upload
    with pytest.raises(openai.InternalServerError):
        gateway.client().audio.transcriptions.create(
            model=MODEL, file=("long.wav", silence(15 * 1024 * 1024 / 8_000))
        )
    assert fake.files.names == []  # deleted all the same
    row = gateway.ledger()[-1]
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 503, 0)


def test_mp3_is_sent_as_audio_mp3(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    from tests.audio_samples import mp3_frames

    gateway.client().audio.transcriptions.create(
        model=MODEL, file=("song.mp3", mp3_frames(1.0), "application/octet-stream")
    )
    inline = fake.requests[-1].body["contents"][0]["parts"][1]["inlineData"]
    assert inline["mimeType"] == "audio/mp3"
