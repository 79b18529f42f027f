"""The fake OpenAI videos API, checked with the official SDK: what the gateway is tested
against must be what the SDK itself accepts."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.openai_videos_upstream import content_bytes


def _client(fake: FakeOpenAIUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake.base_url}/v1", api_key=UPSTREAM_KEY, max_retries=0)


def test_sdk_creates_polls_and_downloads_a_video(fake_openai: FakeOpenAIUpstream) -> None:
    client = _client(fake_openai)
    video = client.videos.create(prompt="A cat on a piano", seconds="8", size="1280x720")
    assert (video.status, video.progress, video.seconds, video.size) == (
        "queued",
        0,
        "8",
        "1280x720",
    )
    assert video.model == "sora-2"
    [record] = fake_openai.videos.creates
    assert record.content_type == "multipart"
    assert record.fields == {"prompt": "A cat on a piano", "seconds": "8", "size": "1280x720"}
    done = client.videos.poll(video.id, poll_interval_ms=1)
    assert (done.status, done.progress) == ("completed", 100)
    assert done.completed_at is not None and done.expires_at == done.completed_at + 3600
    assert client.videos.download_content(video.id).read() == content_bytes(video.id, "video")
    thumbnail = client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert fake_openai.videos.content_requests[0][2] == "application/binary"


def test_sdk_sends_a_reference_image_as_a_file_part(fake_openai: FakeOpenAIUpstream) -> None:
    client = _client(fake_openai)
    client.videos.create(
        prompt="Animate this", input_reference=("cat.png", b"\x89PNG....", "image/png")
    )
    [record] = fake_openai.videos.creates
    assert record.files == {"input_reference": ("cat.png", "image/png", 8)}


def test_sdk_sees_a_scripted_failure_with_its_error(fake_openai: FakeOpenAIUpstream) -> None:
    fake_openai.videos.fail_next_job(after_polls=2)
    client = _client(fake_openai)
    video = client.videos.create_and_poll(prompt="Something flagged", poll_interval_ms=1)
    assert video.status == "failed"
    assert video.error is not None and video.error.code == "moderation_blocked"


def test_content_before_completion_and_unknown_ids_are_404(fake_openai: FakeOpenAIUpstream) -> None:
    client = _client(fake_openai)
    video = client.videos.create(prompt="Slow")
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(video.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_missing")


def test_invalid_seconds_are_refused_like_openai(fake_openai: FakeOpenAIUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _client(fake_openai).videos.create(prompt="x", seconds="5")  # type: ignore[arg-type]
    assert caught.value.body["param"] == "seconds"  # type: ignore[index]
