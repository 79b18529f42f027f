"""`POST /audio/transcriptions` end to end with the official `openai` SDK: the offline echo
transcriber (every format), OpenAI through its fake upstream, limits, errors and metering."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from tests.audio_samples import silence, tone
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream

ECHO = "writingmate/echo-transcribe"
HEARD = "This is the Writingmate echo transcriber. It heard 2.50 seconds of WAV audio."
LIMIT = 26_214_400


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    return error


# ---- the echo transcriber, every format ----------------------------------------------------


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


# ---- limits and errors ---------------------------------------------------------------------


def test_file_over_25_mb_is_413_in_openais_envelope(gateway: Gateway) -> None:
    big = silence(LIMIT / 8_000 + 1)  # just over 25 MB
    with pytest.raises(openai.APIStatusError) as raised:
        gateway.client().audio.transcriptions.create(model=ECHO, file=("big.wav", big))
    assert raised.value.status_code == 413
    body = raised.value.body
    assert isinstance(body, dict) and body["code"] == "request_too_large"
    assert body["param"] == "file" and body["type"] == "invalid_request_error"
    assert gateway.ledger() == []


def test_file_growing_past_25_mb_without_content_length_is_413(gateway: Gateway) -> None:
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n{ECHO}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()

    def chunked() -> object:
        yield head
        for _ in range(LIMIT // 1_048_576 + 1):
            yield b"\0" * 1_048_576
        yield f"\r\n--{boundary}--\r\n".encode()

    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            content=chunked(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    error = assert_openai_error(response, 413, "request_too_large")
    assert error["param"] == "file"


def test_file_of_exactly_25_mb_is_accepted(gateway: Gateway) -> None:
    header = tone(0.0)  # 44 bytes of WAV header, no samples
    audio = header + b"\x00" * (LIMIT - len(header))
    result = gateway.client().audio.transcriptions.create(model=ECHO, file=("max.wav", audio))
    assert "It heard 819.20 seconds of WAV audio." in result.text


def test_unknown_model_is_404_model_not_found(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        gateway.client().audio.transcriptions.create(
            model="nobody/whisper", file=("a.wav", tone(1))
        )
    assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "model_not_found"


def test_chat_model_is_404_model_not_supported(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        gateway.client().audio.transcriptions.create(
            model="writingmate/echo", file=("a.wav", tone(1))
        )
    body = raised.value.body
    assert isinstance(body, dict) and body["code"] == "model_not_supported"
    assert "audio transcription" in body["message"]
    assert gateway.ledger() == []


def test_transcription_model_on_chat_is_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError):
        gateway.client().chat.completions.create(
            model=ECHO, messages=[{"role": "user", "content": "hi"}]
        )


def test_bad_response_format_is_400_naming_it(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": ECHO, "response_format": "diarized_json"},
            files={"file": ("a.wav", tone(1), "audio/wav")},
        )
    assert assert_openai_error(response, 400)["param"] == "response_format"


def test_temperature_that_is_not_a_number_is_400(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": ECHO, "temperature": "warm"},
            files={"file": ("a.wav", tone(1), "audio/wav")},
        )
    assert assert_openai_error(response, 400)["param"] == "temperature"


def test_missing_file_is_400_naming_it(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post("/audio/transcriptions", files={"model": (None, ECHO)})
    error = assert_openai_error(response, 400)
    assert error["param"] == "file" and "Missing required parameter" in error["message"]


def test_file_sent_as_a_text_field_is_400(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions", files={"model": (None, ECHO), "file": (None, "abc")}
        )
    assert assert_openai_error(response, 400)["param"] == "file"


def test_malformed_multipart_is_400_not_500(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            content=b"--nope\r\nthis is not multipart",
            headers={"Content-Type": "multipart/form-data; boundary=other"},
        )
        missing = http.post(
            "/audio/transcriptions",
            content=b"x",
            headers={"Content-Type": "multipart/form-data"},
        )
    assert_openai_error(response, 400, "invalid_multipart")
    assert_openai_error(missing, 400, "invalid_multipart")


def test_body_without_content_type_is_400(gateway: Gateway) -> None:
    with gateway.http() as http:
        empty = http.post("/audio/transcriptions")
        raw = http.post("/audio/transcriptions", content=b"abc")
    assert_openai_error(empty, 400)
    assert_openai_error(raw, 400)


def test_json_body_is_415(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post("/audio/transcriptions", json={"model": ECHO})
    assert "multipart/form-data" in assert_openai_error(response, 415)["message"]


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


def test_stream_that_is_not_a_boolean_is_400(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": ECHO, "stream": "maybe"},
            files={"file": ("a.wav", tone(1), "audio/wav")},
        )
    assert assert_openai_error(response, 400)["param"] == "stream"


def test_missing_key_is_401_before_the_upload_is_read(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base_url) as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": ECHO},
            files={"file": ("a.wav", tone(1), "audio/wav")},
        )
    assert_openai_error(response, 401, "invalid_api_key")


def test_exhausted_daily_limit_is_429(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(daily_limit=1)
    client = gateway.client()
    raw = client.audio.transcriptions.with_raw_response.create(model=ECHO, file=("a.wav", tone(1)))
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as raised:
        client.audio.transcriptions.create(model=ECHO, file=("a.wav", tone(1)))
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "insufficient_quota"


def test_unrecognised_bytes_are_timed_as_raw_pcm(gateway: Gateway) -> None:
    result = gateway.client().audio.transcriptions.create(
        model=ECHO, file=("noise.bin", b"\x01" * 64_000)
    )
    assert result.text.endswith("It heard 2.00 seconds of unrecognised audio.")


# ---- OpenAI through its fake upstream -------------------------------------------------------


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
