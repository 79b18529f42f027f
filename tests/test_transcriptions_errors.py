"""What `POST /audio/transcriptions` refuses, in OpenAI's error envelope: files over 25 MB,
unknown or unsuited models, bad fields, bodies that are not multipart, a missing key and a spent
daily limit."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from tests.audio_samples import silence, tone
from tests.conftest import Gateway
from tests.transcriptions_helpers import ECHO

LIMIT = 26_214_400


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    return error


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
