"""OpenAI's sora-2 through the fake upstream: the create as sent (JSON, or multipart with a
reference file), the job polled and downloaded, and its seconds given back when the upstream
fails the job or refuses the create."""

from __future__ import annotations

import openai
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import video_jobs
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.openai_videos_upstream import content_bytes
from tests.videos_helpers import QUIET_SORA_DEPRECATION, SORA, job_row, pool_used

pytestmark = QUIET_SORA_DEPRECATION


def test_sora_job_goes_through_the_openai_upstream(
    videos: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    client = videos.client()
    video = client.videos.create(model=SORA, prompt="A fox in snow", seconds="4", size="720x1280")
    assert video.model == SORA and video.status == "queued"
    [sent] = fake_openai.videos.creates
    assert sent.content_type == "json"
    assert sent.fields == {
        "model": "sora-2",
        "prompt": "A fox in snow",
        "seconds": "4",
        "size": "720x1280",
    }
    upstream_id = job_row(videos, video.id)["upstream_id"]
    assert upstream_id != video.id and upstream_id in fake_openai.videos.jobs
    done = client.videos.poll(video.id)
    assert (done.status, done.progress) == ("completed", 100)
    assert done.expires_at == done.completed_at + 3600
    data = client.videos.download_content(video.id).read()
    assert data == content_bytes(upstream_id, "video")
    sheet = client.videos.download_content(video.id, variant="spritesheet")
    assert sheet.response.headers["content-type"] == "image/jpeg"
    assert sheet.read() == content_bytes(upstream_id, "spritesheet")
    [row] = videos.ledger()
    assert (row["model"], row["provider"], row["video_seconds"]) == (SORA, "openai", 4)


def test_default_model_is_sora_2_and_a_reference_file_goes_as_multipart(
    videos: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    video = videos.client().videos.create(
        prompt="Animate this", input_reference=("cat.png", b"\x89PNG-data", "image/png")
    )
    assert video.model == SORA
    [sent] = fake_openai.videos.creates
    assert sent.content_type == "multipart"
    assert sent.fields["model"] == "sora-2"
    assert sent.files == {"input_reference": ("cat.png", "image/png", 9)}


def test_upstream_failure_of_a_sora_job_refunds_the_seconds(
    videos: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.videos.fail_next_job(after_polls=2, code="moderation_blocked")
    client = videos.client()
    video = client.videos.create_and_poll(model=SORA, prompt="flagged", seconds="8")
    assert video.status == "failed" and video.error is not None
    assert video.error.code == "moderation_blocked"
    assert pool_used(videos) == 0
    assert sum(r["video_seconds"] for r in videos.ledger()) == 0


def test_upstream_refusing_the_create_costs_nothing(
    videos: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.videos.fail_next_create(500)
    with pytest.raises(openai.APIStatusError) as caught:
        videos.client().videos.create(model=SORA, prompt="x", seconds="12")
    assert caught.value.status_code == 502
    assert pool_used(videos) == 0
    [row] = videos.ledger()
    assert (row["status"], row["messages"], row["video_seconds"]) == ("upstream_error", 0, 0)

    async def jobs(conn: AsyncConnection) -> int:
        return len((await conn.execute(select(video_jobs.c.id))).all())

    assert videos.db(jobs) == 0
