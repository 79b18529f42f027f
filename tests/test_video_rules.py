"""The pure parts of videos: request defaults and checks, the pool, polling cadence, the
OpenAI translation, the echo model's timeline, and the media files it writes."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, NotFound, UpstreamError
from domain.videos import (
    Job,
    ReferenceFile,
    SecondsPool,
    VideoSpec,
    insufficient_seconds_message,
    next_poll_delay,
    period_of,
    poll_after_ms,
    spec_from,
)
from providers.echo import tiny_media
from providers.echo import videos as echo_videos
from providers.openai_compatible import videos as openai_videos

SORA = ModelEntry("openai/sora-2", "openai", "sora-2", 0, "openai", frozenset({"video"}))


def test_defaults_are_openais() -> None:
    spec = spec_from({"prompt": "x"}, None)
    assert (spec.seconds, spec.size, spec.input_reference) == ("4", "720x1280", None)


@pytest.mark.parametrize(
    ("field", "value"), [("seconds", "5"), ("seconds", "4.0"), ("size", "1x1")]
)
def test_values_outside_openais_lists_are_refused(field: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        spec_from({"prompt": "x", field: value}, None)
    assert caught.value.param == field


def test_a_reference_comes_as_a_file_or_as_an_object() -> None:
    upload = ReferenceFile("a.png", "image/png", b"png")
    assert spec_from({"prompt": "x", "input_reference": ""}, upload).input_reference == upload
    linked = spec_from({"prompt": "x", "input_reference": {"file_id": "file-1"}}, None)
    assert linked.input_reference == {"file_id": "file-1"}


def test_pool_month_is_the_utc_month() -> None:
    assert period_of(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
    assert SecondsPool(limit=10, used=8).remaining == 2
    assert SecondsPool(limit=None, used=80).remaining is None
    message = insufficient_seconds_message(8, SecondsPool(10, 4))
    assert "8 video seconds" in message and "6 left" in message


def test_polls_back_off_after_failures_up_to_a_minute() -> None:
    assert [next_poll_delay(n, 5) for n in (0, 1, 2, 3, 10)] == [5, 10, 20, 40, 60]


def _job(status: str) -> Job:
    return Job(
        "video_1", "ws", "u", "k", "m", "p", "up", status, 40, "x", "4", "720x1280",
        None, 1, None, None, "2026-11", 0, 99,
    )  # fmt: skip


def test_poll_hint_only_while_the_job_is_active() -> None:
    assert poll_after_ms(_job("queued"), 2.5) == 2500
    assert poll_after_ms(_job("in_progress"), 0.01) == 100
    assert poll_after_ms(_job("completed"), 2.5) is None
    assert _job("completed").as_openai()["progress"] == 100


def test_openai_request_is_json_unless_a_file_is_attached() -> None:
    spec = VideoSpec("A fox", "8", "1280x720")
    body, fields, files = openai_videos.create_request(spec, SORA)
    assert body == {"model": "sora-2", "prompt": "A fox", "seconds": "8", "size": "1280x720"}
    assert fields is None and files is None
    upload = ReferenceFile("a.png", "image/png", b"png")
    body, fields, files = openai_videos.create_request(
        VideoSpec("A fox", "4", "720x1280", upload), SORA
    )
    assert body is None and fields is not None and fields["seconds"] == "4"
    assert files == {"input_reference": ("a.png", b"png", "image/png")}


def test_openai_video_objects_are_read_strictly() -> None:
    video = openai_videos.video_from(
        {"id": "video_x", "status": "in_progress", "progress": 140, "completed_at": None}
    )
    assert (video.status, video.progress, video.error) == ("in_progress", 100, None)
    failed = openai_videos.video_from({"id": "v", "status": "failed", "error": None})
    assert failed.error == {
        "code": "video_generation_failed",
        "message": "The upstream provider failed the video.",
    }
    for bad in ({"status": "queued"}, {"id": "v", "status": "rendering"}, ["v"]):
        with pytest.raises(UpstreamError):
            openai_videos.video_from(bad)


def test_echo_job_timeline() -> None:
    created = echo_videos.create(VideoSpec("waves", "4", "720x1280"), now=1000.0)
    assert created.status == "queued" and created.id.startswith("echo_1000000_4_720x1280_ok_")
    steps = [echo_videos.retrieve(created.id, now=1000.0 + t) for t in (0.2, 0.5, 0.8, 0.9)]
    assert [s.status for s in steps] == ["queued", "in_progress", "in_progress", "completed"]
    assert 0 < steps[1].progress < steps[2].progress < 100
    assert steps[3].completed_at == 1000 and steps[3].expires_at == 1000 + 24 * 3600
    failing = echo_videos.create(VideoSpec("[fail] x", "4", "720x1280"), now=1000.0)
    assert echo_videos.retrieve(failing.id, now=1001).status == "failed"
    with pytest.raises(NotFound):
        echo_videos.retrieve("video_not_echo")


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    found, at, end = {}, start, len(data) if end is None else end
    while at < end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        found[kind] = data[at + 8 : at + size]
        at += size
    return found


def test_echo_mp4_is_well_formed_and_deterministic() -> None:
    video = echo_videos.create(VideoSpec("dunes", "8", "1280x720"), now=5.0)
    data, media_type = echo_videos.render(video.id, "video")
    assert media_type == "video/mp4"
    assert data == echo_videos.render(video.id, "video")[0]
    top = _boxes(data)
    assert list(top) == [b"ftyp", b"moov", b"mdat"]
    mvhd = _boxes(top[b"moov"])[b"mvhd"]
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    assert duration / timescale == 8.0
    samples = top[b"mdat"]
    first = struct.unpack(">I", samples[:4])[0]
    assert samples[4] & 0x1F == 5  # an IDR slice NAL unit
    assert b"\x00\x00\x00" not in samples[4 : 4 + first]  # emulation prevention held


def test_nal_units_never_carry_start_code_patterns() -> None:
    assert (
        tiny_media.nal(3, 5, b"\x00\x00\x01\x00\x00\x00") == b"\x65\x00\x00\x03\x01\x00\x00\x03\x00"
    )


def test_webp_header_declares_its_size() -> None:
    image = tiny_media.webp(32, 18, (10, 20, 30))
    assert image[:4] == b"RIFF" and image[8:16] == b"WEBPVP8L"
    assert struct.unpack("<I", image[4:8])[0] == len(image) - 8
    bits = int.from_bytes(image[21:25], "little")
    assert (bits & 0x3FFF) + 1 == 32 and ((bits >> 14) & 0x3FFF) + 1 == 18


OFFICIAL_VIDEO = {
    "id": "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5",
    "object": "video",
    "model": "sora-2",
    "status": "in_progress",
    "progress": 33,
    "created_at": 1758941485,
    "completed_at": None,
    "expires_at": None,
    "prompt": "A calico cat playing a piano on stage",
    "seconds": "8",
    "size": "1280x720",
    "remixed_from_video_id": None,
    "error": None,
}


@pytest.mark.parametrize("status", ["queued", "in_progress", "completed", "failed"])
def test_our_video_object_is_openais(status: str) -> None:
    from tests.spec_helpers import REFERENCE, errors

    video = _job(status).as_openai()
    assert errors("VideoResource", video) == []
    if REFERENCE.exists():
        assert errors("VideoResource", video, official=True) == []
        assert errors("VideoResource", OFFICIAL_VIDEO, official=True) == []
    assert errors("VideoResource", OFFICIAL_VIDEO) == []


def test_failed_video_error_has_code_and_message() -> None:
    from dataclasses import replace

    from tests.spec_helpers import errors

    failed = replace(_job("failed"), error={"code": "moderation_blocked", "message": "Blocked."})
    assert errors("VideoResource", failed.as_openai()) == []
    assert errors("VideoResource", {**failed.as_openai(), "error": {"code": "x"}}) != []
    assert errors("VideoResource", {**failed.as_openai(), "object": "image"}) != []
