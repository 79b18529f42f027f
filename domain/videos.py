"""Video generation jobs: what a request asks for, the states a job goes through, the
video-seconds pool, and the job as OpenAI's `video` object. Pure: no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidRequest

DEFAULT_MODEL = "openai/sora-2"
SECONDS = ("4", "8", "12")
DEFAULT_SECONDS = "4"
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
DEFAULT_SIZE = "720x1280"
# What each content variant is, as OpenAI serves it.
MEDIA_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}

QUEUED, IN_PROGRESS, COMPLETED, FAILED = "queued", "in_progress", "completed", "failed"
ACTIVE = (QUEUED, IN_PROGRESS)
STATUSES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED)


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """An `input_reference` uploaded as a file part."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """What the client asked for, validated and with OpenAI's defaults applied."""

    prompt: str
    seconds: str
    size: str
    input_reference: ReferenceFile | Mapping[str, Any] | None = None

    @property
    def seconds_int(self) -> int:
        return int(self.seconds)

    @property
    def prompt_digest(self) -> str:
        return hashlib.sha256(self.prompt.encode()).hexdigest()


def spec_from(body: Mapping[str, Any], reference: ReferenceFile | None) -> VideoSpec:
    """The request's fields. The schema already checked them; multipart fields arrive as
    strings, and a reference may come as a file part or (JSON) as an `image_url`/`file_id`."""
    seconds = str(body.get("seconds") or DEFAULT_SECONDS)
    if seconds not in SECONDS:
        raise InvalidRequest(
            f"Invalid value for 'seconds': {seconds!r}. Supported values are '4', '8', and '12'.",
            param="seconds",
            code="invalid_value",
        )
    size = str(body.get("size") or DEFAULT_SIZE)
    if size not in SIZES:
        raise InvalidRequest(
            f"Invalid value for 'size': {size!r}. Supported values are {', '.join(SIZES)}.",
            param="size",
            code="invalid_value",
        )
    given = body.get("input_reference")
    return VideoSpec(
        prompt=str(body["prompt"]),
        seconds=seconds,
        size=size,
        input_reference=reference or (given if isinstance(given, Mapping) and given else None),
    )


def period_of(moment: datetime) -> str:
    """The video-seconds pool a moment draws on: its UTC calendar month, `YYYY-MM`."""
    return moment.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class SecondsPool:
    """A workspace's video seconds for one month: `limit` None is unlimited."""

    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def insufficient_seconds_message(wanted: int, pool: SecondsPool | None) -> str:
    left = "" if pool is None or pool.remaining is None else f" ({pool.remaining} left)"
    return (
        f"Your workspace does not have {wanted} video seconds left this month{left}. "
        "The pool resets on the 1st (UTC); a shorter video, or a plan with more video "
        "seconds, will do."
    )


@dataclass(frozen=True, slots=True)
class UpstreamVideo:
    """A provider's view of a job, already in OpenAI's vocabulary."""

    id: str
    status: str
    progress: int
    error: Mapping[str, Any] | None = None
    completed_at: int | None = None
    expires_at: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in (COMPLETED, FAILED)


def clamp_progress(value: Any) -> int:
    try:
        return max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return 0


def failure(code: str, message: str) -> dict[str, str]:
    """The `error` of a failed video, as OpenAI writes it."""
    return {"code": code, "message": message}


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the jobs table, as the gateway sees it."""

    id: str
    workspace_id: str
    user_id: str
    key_id: str
    model: str
    provider: str
    upstream_id: str | None
    status: str
    progress: int
    prompt: str
    seconds: str
    size: str
    error: Mapping[str, Any] | None
    created_at: int
    completed_at: int | None
    expires_at: int | None
    period: str
    polls: int
    deadline_at: int

    def as_openai(self) -> dict[str, Any]:
        """OpenAI's `video` object (VideoResource); `model` is our slug."""
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": self.status,
            "progress": 100 if self.status == COMPLETED else self.progress,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "expires_at": self.expires_at,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "remixed_from_video_id": None,
            "error": dict(self.error) if self.error else None,
        }


def next_poll_delay(polls: int, interval: float, ceiling: float = 60.0) -> float:
    """Seconds until the next poll of a job after `polls` failed polls in a row: the
    interval, doubled per failure, up to `ceiling`."""
    return min(ceiling, interval * 2.0 ** min(polls, 10))


def poll_after_ms(job: Job, interval: float) -> int | None:
    """What `openai-poll-after-ms` tells the SDK's poll helper: nothing once the job is
    done, else how often the gateway itself refreshes the job."""
    if job.status not in ACTIVE:
        return None
    return max(100, int(interval * 1000))


@dataclass(frozen=True, slots=True)
class VideoContent:
    """A video's bytes (or a preview's) as they arrive, and their media type."""

    media_type: str
    chunks: AsyncIterator[bytes]
    length: int | None = None
