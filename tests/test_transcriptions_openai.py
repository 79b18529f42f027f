"""`POST /audio/transcriptions` on OpenAI's models through the fake upstream: the form as sent,
text formats passed through, token usage metered as messages, upstream errors; and the models
list and the spec, which name what transcriptions offer."""

from __future__ import annotations

import openai
import pytest

from tests.audio_samples import tone
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.transcriptions_helpers import ECHO


def test_whisper_gets_the_form_as_sent_with_its_own_model_id(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    audio = tone(2.0)
    result = gateway.client().audio.transcriptions.create(
        model="openai/whisper-1",
        file=("speech.wav", audio, "audio/wav"),
        language="en",
        prompt="Foxes.",
        temperature=0.2,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.duration == 2.0 and result.words and result.segments
    form = fake_openai.transcriptions.forms[-1]
    assert form.fields["model"] == "whisper-1"
    assert (form.fields["language"], form.fields["prompt"]) == ("en", "Foxes.")
    assert form.fields["temperature"] == "0.2"
    assert [v for k, v in form.parts if k == "timestamp_granularities[]"] == ["word", "segment"]
    assert (form.filename, form.file_content_type, form.file_bytes) == (
        "speech.wav",
        "audio/wav",
        audio,
    )
    assert form.content_length == str(len(fake_openai.requests[-1].raw_body))
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-upstream-test-key"


@pytest.mark.parametrize("response_format", ["text", "srt", "vtt"])
def test_whisper_text_formats_pass_through_as_plain_text(
    gateway: Gateway, response_format: str
) -> None:
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model="openai/whisper-1", file=("a.wav", tone(2.0)), response_format=response_format
    )
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    text = raw.parse()
    assert isinstance(text, str) and "quick brown fox" in text
    assert raw.headers["x-writingmate-messages-counted"] == "1"


def test_gpt_4o_transcribe_token_usage_counts_more_messages(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.transcriptions.reply("Long talk.", input_tokens=30_000, output_tokens=3_000)
    raw = gateway.client().audio.transcriptions.with_raw_response.create(
        model="openai/gpt-4o-transcribe", file=("a.wav", tone(1.0))
    )
    result = raw.parse()
    assert result.text == "Long talk."
    assert result.usage is not None and result.usage.type == "tokens"
    assert raw.headers["x-writingmate-messages-counted"] == "3"  # ceil(33000 / 16000)
    row = gateway.ledger()[-1]
    assert (row["model"], row["provider"], row["endpoint"]) == (
        "openai/gpt-4o-transcribe",
        "openai",
        "audio.transcriptions",
    )
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (30_000, 3_000, 3)


def test_streamed_gpt_4o_transcribe_ends_with_its_token_usage(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.transcriptions.reply("Hello big world.", input_tokens=20_000, output_tokens=4)
    stream = gateway.client().audio.transcriptions.create(
        model="openai/gpt-4o-transcribe", file=("a.wav", tone(1.0)), stream=True
    )
    events = list(stream)
    assert [e.delta for e in events[:-1]] == ["Hello", " big", " world."]  # type: ignore[union-attr]
    done = events[-1]
    assert done.type == "transcript.text.done" and done.usage is not None
    assert (done.usage.input_tokens, done.usage.output_tokens) == (20_000, 4)
    assert "stream" not in fake_openai.transcriptions.forms[-1].fields  # transcribed whole
    assert gateway.ledger()[-1]["messages"] == 2


def test_gpt_4o_mini_transcribe_refusing_srt_is_a_400_with_its_message(
    gateway: Gateway,
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        gateway.client().audio.transcriptions.create(
            model="openai/gpt-4o-mini-transcribe", file=("a.wav", tone(1.0)), response_format="srt"
        )
    assert "not compatible" in raised.value.message
    row = gateway.ledger()[-1]
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 400, 0)


def test_upstream_rate_limit_is_429_with_retry_hint(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.transcriptions.fail(
        429,
        {
            "error": {
                "message": "Slow down",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
        headers={"retry-after-ms": "250"},
    )
    with pytest.raises(openai.RateLimitError) as raised:
        gateway.client().audio.transcriptions.create(
            model="openai/whisper-1", file=("a.wav", tone(1.0))
        )
    assert raised.value.response.headers["retry-after-ms"] == "250"


def test_upstream_outage_is_503(gateway: Gateway, fake_openai: FakeOpenAIUpstream) -> None:
    fake_openai.transcriptions.fail(503)
    with pytest.raises(openai.InternalServerError) as raised:
        gateway.client().audio.transcriptions.create(
            model="openai/whisper-1", file=("a.wav", tone(1.0))
        )
    assert raised.value.status_code == 503


def test_models_list_has_the_transcription_models(gateway: Gateway) -> None:
    ids = {m.id for m in gateway.client().models.list()}
    assert {ECHO, "openai/whisper-1", "openai/gpt-4o-transcribe"} <= ids


def test_spec_declares_text_plain_and_event_stream(gateway: Gateway) -> None:
    with gateway.http() as http:
        spec = http.get("/openapi.json").json()
    content = spec["paths"]["/audio/transcriptions"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/plain", "text/event-stream"}
