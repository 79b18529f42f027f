"""The offline echo video model through the official OpenAI SDK: created queued, polled to
completion, downloaded as a real MP4 with WebP images; seen only in its own workspace; and what
a create request must be."""

from __future__ import annotations

import time
from typing import Any

import av
import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import accounts
from tests.conftest import Gateway
from tests.videos_helpers import ECHO, QUIET_SORA_DEPRECATION

pytestmark = QUIET_SORA_DEPRECATION


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
