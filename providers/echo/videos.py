"""`writingmate/echo-video`: the offline video model, so the whole videos path (job, worker,
pool, download) runs with no keys.

A job's whole state is in its upstream id (`echo_<created ms>_<seconds>_<size>_<outcome>_<prompt
digest>`), so it survives restarts like a real upstream's: it is `queued` for a moment, then
`in_progress` with a rising `progress` for 0.15 s per second of video, then `completed`. A
prompt containing `[fail]` fails instead, as a moderated prompt would.

The video is a real MP4 (`providers.echo.tiny_media`): one frame per second at 1/40 (1/32 for the
1024-wide sizes) of the asked size, in a colour drawn from the prompt, with a light bar
moving across. The thumbnail and the spritesheet are WebP images of that colour.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread

from domain.errors import NotFound
from domain.videos import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    QUEUED,
    UpstreamVideo,
    VideoContent,
    VideoSpec,
    failure,
)
from providers.echo import tiny_media

QUEUED_FOR = 0.3  # seconds before rendering starts
RENDER_PER_SECOND = 0.15  # seconds of rendering per second of video
EXPIRES_AFTER = 24 * 3600
FAIL_MARK = "[fail]"
PREFIX = "echo"


@dataclass(frozen=True, slots=True)
class EchoJob:
    created_ms: int
    seconds: int
    size: str
    fails: bool
    digest: str

    @property
    def upstream_id(self) -> str:
        outcome = "fail" if self.fails else "ok"
        return f"{PREFIX}_{self.created_ms}_{self.seconds}_{self.size}_{outcome}_{self.digest}"

    @classmethod
    def parse(cls, upstream_id: str) -> EchoJob:
        try:
            prefix, created, seconds, size, outcome, digest = upstream_id.split("_")
            if prefix != PREFIX or outcome not in ("ok", "fail"):
                raise ValueError(upstream_id)
            return cls(int(created), int(seconds), size, outcome == "fail", digest)
        except ValueError as exc:
            raise NotFound(f"No echo video job {upstream_id!r}.") from exc

    @property
    def render_ends(self) -> float:
        return self.created_ms / 1000 + QUEUED_FOR + RENDER_PER_SECOND * self.seconds

    def state(self, now: float) -> UpstreamVideo:
        elapsed = now - self.created_ms / 1000
        if elapsed < QUEUED_FOR:
            return UpstreamVideo(self.upstream_id, QUEUED, 0)
        if self.fails:
            error = failure(
                "moderation_blocked", "The prompt was flagged by the echo model's moderation."
            )
            return UpstreamVideo(self.upstream_id, FAILED, 0, error=error)
        if now < self.render_ends:
            rendered = (elapsed - QUEUED_FOR) / (RENDER_PER_SECOND * self.seconds)
            return UpstreamVideo(
                self.upstream_id, IN_PROGRESS, max(1, min(99, int(rendered * 100)))
            )
        done = int(self.render_ends)
        return UpstreamVideo(self.upstream_id, COMPLETED, 100, None, done, done + EXPIRES_AFTER)


def create(spec: VideoSpec, now: float | None = None) -> UpstreamVideo:
    moment = time.time() if now is None else now
    job = EchoJob(
        created_ms=int(moment * 1000),
        seconds=spec.seconds_int,
        size=spec.size,
        fails=FAIL_MARK in spec.prompt,
        digest=spec.prompt_digest[:16],
    )
    return job.state(moment)


def retrieve(upstream_id: str, now: float | None = None) -> UpstreamVideo:
    return EchoJob.parse(upstream_id).state(time.time() if now is None else now)


def display_size(size: str) -> tuple[int, int]:
    width, height = (int(side) for side in size.split("x"))
    scale = 32 if 1024 in (width, height) else 40
    return width // scale, height // scale


def colour(digest: str) -> tuple[int, int, int]:
    """(Y, Cb, Cr) from the prompt's digest, within video range."""
    raw = bytes.fromhex(digest[:6])
    return 40 + raw[0] * 160 // 255, 64 + raw[1] // 2, 64 + raw[2] // 2


def rgb(ycbcr: tuple[int, int, int]) -> tuple[int, int, int]:
    y, cb, cr = ycbcr[0] - 16, ycbcr[1] - 128, ycbcr[2] - 128
    values = (1.164 * y + 1.596 * cr, 1.164 * y - 0.392 * cb - 0.813 * cr, 1.164 * y + 2.017 * cb)
    red, green, blue = (max(0, min(255, round(v))) for v in values)
    return red, green, blue


def frames(job: EchoJob) -> list[list[list[tuple[int, int, int]]]]:
    width, height = display_size(job.size)
    frame = tiny_media.Frame(width, height)
    coded_w, coded_h = frame.mbs_wide * tiny_media.MB, frame.mbs_high * tiny_media.MB
    background = colour(job.digest)
    bar = (min(235, background[0] + 60), background[1], background[2])
    pictures = []
    for index in range(job.seconds):
        left = index * width // job.seconds
        right = max(left + 2, (index + 1) * width // job.seconds)
        row = [bar if left <= x < right else background for x in range(coded_w)]
        pictures.append([row] * coded_h)
    return pictures


def render(upstream_id: str, variant: str) -> tuple[bytes, str]:
    """The finished job's bytes for a variant, and their media type."""
    job = EchoJob.parse(upstream_id)
    width, height = display_size(job.size)
    if variant == "thumbnail":
        return tiny_media.webp(width, height, rgb(colour(job.digest))), "image/webp"
    if variant == "spritesheet":
        sheet = tiny_media.webp(width * job.seconds, height, rgb(colour(job.digest)))
        return sheet, "image/webp"
    return tiny_media.mp4(width, height, frames(job)), "video/mp4"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def content(upstream_id: str, variant: str) -> VideoContent:
    data, media_type = await anyio.to_thread.run_sync(render, upstream_id, variant)
    return VideoContent(media_type, _once(data), len(data))
