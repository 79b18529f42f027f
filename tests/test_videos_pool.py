"""The monthly pool of video seconds: a video's seconds are taken when it is created and given
back when it fails, concurrent creations never overdraw the pool, and a video refused by the
daily message limit keeps its seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import video_jobs
from tests.conftest import Gateway
from tests.videos_helpers import ECHO, FAST, QUIET_SORA_DEPRECATION, pool_used, set_grant

pytestmark = QUIET_SORA_DEPRECATION


def test_failed_echo_video_gives_its_seconds_back_and_says_why(videos: Gateway) -> None:
    set_grant(videos, 20)
    client = videos.client()
    raw = client.videos.with_raw_response.create(
        model=ECHO, prompt="[fail] something", seconds="12"
    )
    assert raw.headers["x-writingmate-video-seconds-remaining"] == "8"
    assert pool_used(videos) == 12
    video = client.videos.poll(raw.parse().id)
    assert video.status == "failed"
    assert video.error is not None and video.error.code == "moderation_blocked"
    assert "openai-poll-after-ms" not in client.videos.with_raw_response.retrieve(video.id).headers
    assert pool_used(videos) == 0
    create_row, refund_row = videos.ledger()
    assert (create_row["endpoint"], create_row["video_seconds"], create_row["messages"]) == (
        "videos",
        12,
        1,
    )
    assert (refund_row["status"], refund_row["video_seconds"], refund_row["messages"]) == (
        "refunded",
        -12,
        0,
    )
    assert refund_row["request_id"] == f"{video.id}:refund"
    with pytest.raises(openai.NotFoundError) as caught:
        client.videos.download_content(video.id)
    assert caught.value.code == "video_not_ready"


def test_pool_refuses_a_video_longer_than_the_seconds_left(videos: Gateway) -> None:
    set_grant(videos, 10)
    client = videos.client()
    client.videos.create(model=ECHO, prompt="First", seconds="8")
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.create(model=ECHO, prompt="Second", seconds="4")
    assert caught.value.code == "insufficient_quota"
    assert "4 video seconds" in caught.value.message and "2 left" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert pool_used(videos) == 8
    assert [r["video_seconds"] for r in videos.ledger()] == [8]


def test_concurrent_creations_never_overdraw_the_pool(videos: Gateway) -> None:
    import asyncio

    set_grant(videos, 40)

    async def go() -> list[Any]:
        async with videos.async_client() as client:
            calls = [
                client.videos.create(model=ECHO, prompt=f"p{i}", seconds="8") for i in range(12)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(go())
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert [repr(r) for r in results if isinstance(r, Exception) and r not in refused] == []
    assert (len(made), len(refused)) == (5, 7)
    assert pool_used(videos) == 40


def test_exhausted_daily_messages_refuse_a_video_and_keep_its_seconds(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(daily_limit=1, env=FAST)
    client = gateway.client()
    raw = client.videos.with_raw_response.create(model=ECHO, prompt="One", seconds="4")
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.create(model=ECHO, prompt="Two", seconds="8")
    assert "daily message limit is used up" in caught.value.message
    assert pool_used(gateway) == 4

    async def jobs(conn: AsyncConnection) -> int:
        return len((await conn.execute(select(video_jobs.c.id))).all())

    assert gateway.db(jobs) == 1
