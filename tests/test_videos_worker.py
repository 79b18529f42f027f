"""The background video worker: it retries polls that fail for a while, fails and refunds a job
past its deadline, picks jobs up after a restart, and two workers on one database never take the
same job."""

from __future__ import annotations

import time
from collections.abc import Callable

import openai

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.videos_helpers import ECHO, FAST, QUIET_SORA_DEPRECATION, SORA, job_row, pool_used

pytestmark = QUIET_SORA_DEPRECATION


def test_worker_retries_polls_that_fail_for_a_while(
    videos: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    client = videos.client()
    video = client.videos.create(model=SORA, prompt="Patience", seconds="4")
    fake_openai.videos.fail_next_polls(2, status=503)
    assert client.videos.poll(video.id).status == "completed"
    assert job_row(videos, video.id)["polls_failed"] == 0


def test_job_past_its_deadline_fails_and_refunds(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    gateway = start_gateway(env={**FAST, "WMGW_VIDEO_DEADLINE_SECONDS": "0"})
    video = gateway.client().videos.create_and_poll(model=SORA, prompt="Too slow", seconds="4")
    assert video.status == "failed" and video.error is not None
    assert video.error.code == "video_generation_timeout"
    assert pool_used(gateway) == 0


def test_jobs_survive_a_restart(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream, tmp_path
) -> None:
    stopped = start_gateway(env={**FAST, "WMGW_VIDEO_WORKER": "0"})
    video = stopped.client().videos.create(model=SORA, prompt="Later", seconds="4")
    time.sleep(0.2)
    assert stopped.client().videos.retrieve(video.id).status == "queued"  # nobody polls it
    upstream_id = job_row(stopped, video.id)["upstream_id"]
    assert fake_openai.videos.polls_of(upstream_id) == 0
    # A new gateway process on the same database picks the job up.
    from tests.fakes.server import serve_asgi
    from web.app import create_app

    app = create_app(
        stopped.settings.__class__.from_env(
            {**stopped.settings.environ, **FAST, "WMGW_VIDEO_WORKER": "1"}
        )
    )
    with serve_asgi(app) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=stopped.key, max_retries=0)
        assert client.videos.poll(video.id).status == "completed"


def test_two_workers_on_one_database_never_take_the_same_job(
    start_gateway: Callable[..., Gateway],
) -> None:
    import asyncio

    from gateway.settings import VideoSettings
    from gateway.video_worker import VideoWorker
    from providers.echo.model import Echo
    from storage.engine import create_engine

    gateway = start_gateway(env={**FAST, "WMGW_VIDEO_WORKER": "0"})
    client = gateway.client()
    for i in range(8):
        client.videos.create(model=ECHO, prompt=f"job {i}", seconds="4")
    time.sleep(0.1)  # their first poll is due

    async def go() -> list[int]:
        engines = [create_engine(gateway.settings.database_url) for _ in range(2)]
        settings = VideoSettings(poll_seconds=100)  # one poll each, then nothing is due
        workers = [VideoWorker(e, lambda name: Echo(name), settings) for e in engines]
        try:
            return list(await asyncio.gather(*(w.round() for w in workers)))
        finally:
            for engine in engines:
                await engine.dispose()

    taken = asyncio.run(go())
    assert sum(taken) == 8
