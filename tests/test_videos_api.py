"""Videos through the gateway with the official OpenAI SDK: create, poll, download, on the
offline echo video model and on OpenAI's sora-2 (the fake upstream), with the seconds pool,
the ledger and the background worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import av
import httpx
import openai
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import accounts
from storage.tables import plans, quota_counters, video_jobs
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.openai_videos_upstream import content_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK deprecates Sora

ECHO = "writingmate/echo-video"
SORA = "openai/sora-2"
FAST = {"WMGW_VIDEO_POLL_SECONDS": "0.05"}


@pytest.fixture
def videos(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway(env=FAST)


def set_grant(gateway: Gateway, seconds: int | None) -> None:
    async def work(conn: AsyncConnection) -> None:
        await conn.execute(update(plans).values(monthly_video_seconds=seconds))

    gateway.db(work)


def pool_used(gateway: Gateway) -> int:
    async def work(conn: AsyncConnection) -> int:
        used = await conn.scalar(
            select(quota_counters.c.used).where(quota_counters.c.unit == "video_seconds")
        )
        return int(used or 0)

    return gateway.db(work)


def job_row(gateway: Gateway, video_id: str) -> dict[str, Any]:
    async def work(conn: AsyncConnection) -> dict[str, Any]:
        row = (await conn.execute(select(video_jobs).where(video_jobs.c.id == video_id))).one()
        return dict(row._mapping)

    return gateway.db(work)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_echo_video_is_created_queued_polled_to_completion_and_downloaded(videos: Gateway) -> None:
    client = videos.client()
    raw = client.videos.with_raw_response.create(
        model=ECHO, prompt="A calico cat playing a piano", seconds="8", size="1280x720"
    )
    video = raw.parse()
    assert (video.status, video.progress, video.object) == ("queued", 0, "video")
    assert video.id.startswith("video_") and video.model == ECHO
    assert (video.seconds, video.size, video.prompt) == (
        "8",
        "1280x720",
        "A calico cat playing a piano",
    )
    assert raw.headers["openai-poll-after-ms"] == "100"
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    seen: list[tuple[str, int]] = []
    while True:
        current = client.videos.retrieve(video.id)
        seen.append((current.status, current.progress))
        if current.status in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert seen[-1] == ("completed", 100)
    assert any(status == "in_progress" and 0 < progress < 100 for status, progress in seen)
    done = client.videos.retrieve(video.id)
    assert done.completed_at is not None and done.expires_at is not None and done.error is None
    mp4 = client.videos.download_content(video.id)
    assert mp4.response.headers["content-type"] == "video/mp4"
    data = mp4.read()
    assert data[4:8] == b"ftyp" and b"avc1" in data and b"mdat" in data
    assert len(data) < 100_000


def test_poll_helper_waits_for_the_echo_video(videos: Gateway) -> None:
    video = videos.client().videos.create_and_poll(model=ECHO, prompt="Waves", seconds="4")
    assert video.status == "completed" and video.progress == 100


def test_async_sdk_creates_and_polls(videos: Gateway) -> None:
    import asyncio

    async def go() -> Any:
        async with videos.async_client() as client:
            return await client.videos.create_and_poll(model=ECHO, prompt="Rain", seconds="4")

    assert asyncio.run(go()).status == "completed"


def test_echo_video_is_a_real_video_that_ffmpeg_decodes(videos: Gateway, tmp_path) -> None:
    client = videos.client()
    video = client.videos.create_and_poll(model=ECHO, prompt="Dunes", seconds="4", size="1024x1792")
    path = tmp_path / "video.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert stream.codec_context.name == "h264"
        assert container.duration == 4 * av.time_base
    assert [(f.width, f.height) for f in frames] == [(32, 56)] * 4  # 1024x1792 / 32
    thumbnail = tmp_path / "thumb.webp"
    client.videos.download_content(video.id, variant="thumbnail").write_to_file(thumbnail)
    with av.open(str(thumbnail)) as container:
        (image,) = container.decode(video=0)
        assert container.streams.video[0].codec_context.name == "webp"
    assert (image.width, image.height) == (32, 56)


def test_echo_thumbnail_and_spritesheet_are_webp(videos: Gateway) -> None:
    client = videos.client()
    video = client.videos.create_and_poll(model=ECHO, prompt="Snow", seconds="4")
    for variant in ("thumbnail", "spritesheet"):
        response = client.videos.download_content(video.id, variant=variant)
        assert response.response.headers["content-type"] == "image/webp"
        assert response.read()[8:12] == b"WEBP"


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


def test_a_user_sees_only_their_workspace_videos(videos: Gateway) -> None:
    video = videos.client().videos.create(model=ECHO, prompt="Mine")

    async def other_workspace(conn: AsyncConnection) -> str:
        workspace = await accounts.create_workspace(conn, "Other", "team")
        user = await accounts.create_user(conn, "other@example.com", "Other")
        await accounts.add_member(conn, user, workspace, "owner")
        return user

    stranger = videos.client(videos.new_key(videos.db(other_workspace)))
    with pytest.raises(openai.NotFoundError) as caught:
        stranger.videos.retrieve(video.id)
    assert caught.value.code == "video_not_found"
    with pytest.raises(openai.NotFoundError):
        stranger.videos.download_content(video.id)


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


def test_malformed_multipart_is_a_400_in_openais_envelope(videos: Gateway) -> None:
    with videos.http() as http:
        response = http.post(
            "/videos",
            content=b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi',
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        no_boundary = http.post(
            "/videos", content=b"prompt=hi", headers={"Content-Type": "multipart/form-data"}
        )
    for answer in (response, no_boundary):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["type"] == "invalid_request_error"


def test_invalid_fields_are_400s_naming_the_field(videos: Gateway) -> None:
    client = videos.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(model=ECHO, prompt="x", seconds="5")  # type: ignore[arg-type]
    assert caught.value.param == "seconds"
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(model=ECHO, prompt="")
    assert caught.value.param == "prompt"
    with pytest.raises(openai.NotFoundError) as caught:
        client.videos.create(model="writingmate/echo", prompt="x")
    assert caught.value.code == "model_not_supported"


def test_json_body_is_accepted_too(videos: Gateway) -> None:
    with videos.http() as http:
        response = http.post("/videos", json={"model": ECHO, "prompt": "JSON", "seconds": "4"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "queued"
    assert response.json()["seconds"] == "4"


def test_content_of_an_unfinished_video_is_not_ready(videos: Gateway) -> None:
    client = videos.client()
    video = client.videos.create(model=ECHO, prompt="Wait", seconds="12")
    with pytest.raises(openai.NotFoundError) as caught:
        client.videos.download_content(video.id)
    assert caught.value.code == "video_not_ready"
    with httpx.Client() as http:
        unknown = http.get(
            f"{videos.base_url}/videos/video_nope/content",
            headers={"Authorization": f"Bearer {videos.key}"},
        )
    assert unknown.status_code == 404


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
