"""The fake Gemini upstream's audio input, checked with the official `google-genai` SDK."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

from tests.audio_samples import tone
from tests.fakes.gemini_audio import DEFAULT_TRANSCRIPT
from tests.fakes.gemini_upstream import FakeGeminiUpstream

KEY = "AIza-fake-key-for-audio-tests"
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGeminiUpstream]:
    fake = FakeGeminiUpstream(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def sdk(server: FakeGeminiUpstream) -> genai.Client:
    server.reset()
    options = types.HttpOptions(base_url=server.base_url, api_version="v1beta")
    return genai.Client(api_key=KEY, http_options=options)


def audio_part(data: bytes, mime: str = "audio/wav") -> types.Part:
    return types.Part.from_bytes(data=data, mime_type=mime)


def test_audio_is_transcribed_and_counted_as_audio_tokens(sdk: genai.Client) -> None:
    response = sdk.models.generate_content(
        model=MODEL, contents=["Transcribe this.", audio_part(tone(2.5))]
    )
    assert response.text == DEFAULT_TRANSCRIPT
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_tokens_details is not None
    details = {d.modality: d.token_count for d in usage.prompt_tokens_details}
    assert details[types.MediaModality.AUDIO] == 80  # 2.5 s at 32 tokens a second
    assert details[types.MediaModality.TEXT] == 3  # two words and the audio part
    assert usage.prompt_token_count == 83


def test_json_with_a_segments_schema_times_the_sentences(sdk: genai.Client) -> None:
    config = types.GenerateContentConfig(
        response_mime_type="application/json",
        response_json_schema={"type": "object", "properties": {"segments": {"type": "array"}}},
    )
    response = sdk.models.generate_content(
        model=MODEL, contents=["Transcribe.", audio_part(tone(2.0))], config=config
    )
    timed = json.loads(response.text or "")
    assert timed["language"] == "en"
    assert [s["text"] for s in timed["segments"]] == DEFAULT_TRANSCRIPT.replace(". ", ".|").split(
        "|"
    )
    assert timed["segments"][0]["start"] == 0.0 and timed["segments"][-1]["end"] == 2.0


def test_unsupported_mime_type_is_a_400(sdk: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as raised:
        sdk.models.generate_content(
            model=MODEL, contents=["Hi", audio_part(b"abc", "application/octet-stream")]
        )
    assert raised.value.code == 400 and "Unsupported MIME type" in str(raised.value.message)


def test_request_over_20_mb_is_a_400(sdk: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as raised:
        sdk.models.generate_content(
            model=MODEL, contents=["Hi", audio_part(b"\0" * 16 * 1024 * 1024)]
        )
    assert "payload size exceeds" in str(raised.value.message)


def test_files_api_upload_then_transcribe_then_delete(
    sdk: genai.Client, server: FakeGeminiUpstream
) -> None:
    uploaded = sdk.files.upload(file=io.BytesIO(tone(1.5)), config={"mime_type": "audio/wav"})
    assert uploaded.state == types.FileState.ACTIVE and uploaded.uri and uploaded.name
    assert sdk.files.get(name=uploaded.name).size_bytes == len(tone(1.5))
    response = sdk.models.generate_content(model=MODEL, contents=["Transcribe.", uploaded])
    assert response.text == DEFAULT_TRANSCRIPT
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_tokens_details is not None
    details = {d.modality: d.token_count for d in usage.prompt_tokens_details}
    assert details[types.MediaModality.AUDIO] == 48
    sdk.files.delete(name=uploaded.name)
    assert server.files.deleted == [uploaded.name]
    with pytest.raises(errors.ClientError):
        sdk.models.generate_content(model=MODEL, contents=["Transcribe.", uploaded])
