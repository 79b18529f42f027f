"""The fake OpenAI upstream's transcription route, checked with the official `openai` SDK."""

from __future__ import annotations

import openai
import pytest

from tests.audio_samples import tone
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAIUpstream


@pytest.fixture
def client(fake_openai: FakeOpenAIUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake_openai.base_url}/v1", api_key=UPSTREAM_KEY, max_retries=0)


def test_whisper_json_reports_duration_usage(client: openai.OpenAI) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", tone(2.5)))
    assert result.text.startswith("The quick brown fox")
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == 3


def test_gpt_4o_transcribe_reports_token_usage(
    client: openai.OpenAI, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.transcriptions.reply("Bonjour.", input_tokens=120, output_tokens=4)
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", tone(1.0)), language="fr"
    )
    assert result.text == "Bonjour."
    assert result.usage is not None and result.usage.type == "tokens"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (120, 4)
    assert fake_openai.transcriptions.forms[-1].fields["language"] == "fr"


def test_text_srt_and_vtt_come_back_as_strings(client: openai.OpenAI) -> None:
    file = ("a.wav", tone(2.0))
    text = client.audio.transcriptions.create(model="whisper-1", file=file, response_format="text")
    srt = client.audio.transcriptions.create(model="whisper-1", file=file, response_format="srt")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=file, response_format="vtt")
    assert text == "The quick brown fox jumps over the lazy dog. It was not amused.\n"
    assert srt.startswith("1\n00:00:00,000 --> ") and "\n\n2\n" in srt
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_verbose_json_has_the_granularities_asked_for(
    client: openai.OpenAI, fake_openai: FakeOpenAIUpstream
) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=("a.wav", tone(2.0)),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.duration == 2.0 and result.language == "english"
    assert result.words and result.words[0].word == "The"
    assert result.segments and len(result.segments) == 2
    parts = [name for name, _ in fake_openai.transcriptions.forms[-1].parts]
    assert parts.count("timestamp_granularities[]") == 2


def test_gpt_4o_transcribe_refuses_subtitles(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("a.wav", tone(1.0)), response_format="srt"
        )
    assert raised.value.param == "response_format"


def test_unknown_model_and_format_are_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="whisper-9", file=("a.wav", tone(1.0)))
    with pytest.raises(openai.BadRequestError, match="Invalid file format"):
        client.audio.transcriptions.create(model="whisper-1", file=("a.txt", b"hello"))


def test_scripted_failure_is_openais_error(
    client: openai.OpenAI, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.transcriptions.fail(503)
    with pytest.raises(openai.InternalServerError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", tone(1.0)))
