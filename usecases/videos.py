"""Videos end to end: create a job (route the model, draw its seconds from the workspace's
pool, admit and meter the request, start the upstream job), read it back, download it. The
jobs advance in the background (`gateway.video_worker`); this module only reads their state."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import orjson

from domain.catalog import ModelEntry
from domain.errors import (
    InternalError,
    NotFound,
    QuotaExceeded,
    UpstreamUnavailable,
)
from domain.metering import Usage
from domain.videos import (
    COMPLETED,
    DEFAULT_MODEL,
    FAILED,
    QUEUED,
    Job,
    ReferenceFile,
    SecondsPool,
    UpstreamVideo,
    VideoContent,
    VideoSpec,
    insufficient_seconds_message,
    period_of,
    poll_after_ms,
    spec_from,
)
from gateway.auth import Caller
from gateway.routing import provider_named, route
from gateway.runs import Answer
from gateway.services import Services
from gateway.settings import VideoSettings
from gateway.tickets import Claim, Route, Ticket
from providers.base import VideoProvider
from providers.served import VIDEOS
from storage import videos as store

ENDPOINT = "videos"
log = logging.getLogger("wmgw.videos")


def new_video_id() -> str:
    return f"video_{secrets.token_hex(24)}"


def new_job_row(
    caller: Caller, model: ModelEntry, spec: VideoSpec, settings: VideoSettings, now: float
) -> dict[str, Any]:
    """A job not yet handed to the upstream: its creator holds the lease until it is (if the
    process dies first, the worker undoes the job once the lease runs out)."""
    return {
        "id": new_video_id(),
        "workspace_id": caller.workspace_id,
        "user_id": caller.user_id,
        "key_id": caller.key_id,
        "request_id": caller.request_id,
        "model": model.slug,
        "provider": model.provider,
        "upstream_id": None,
        "status": QUEUED,
        "progress": 0,
        "prompt": spec.prompt,
        "seconds": spec.seconds,
        "size": spec.size,
        "error": None,
        "period": period_of(datetime.fromtimestamp(now, UTC)),
        "created_at": int(now),
        "completed_at": None,
        "expires_at": None,
        "deadline_at": int(now) + settings.deadline_seconds,
        "next_poll_at": _ms(now + settings.poll_seconds),
        "polls_failed": 0,
        "lease_owner": f"create:{caller.request_id}",
        "lease_until": _ms(now + settings.submit_seconds),
    }


async def begin_video(
    services: Services,
    caller: Caller,
    body: Mapping[str, Any],
    reference: ReferenceFile | None,
) -> VideoRun:
    """Route (404/403), check the fields (400), draw the seconds and record the job (429),
    and admit the request (429); the job is handed to the upstream when the run completes."""
    slug = str(body.get("model") or DEFAULT_MODEL)
    model = route(services, caller, slug, VIDEOS).model
    provider = provider_named(services, model.provider)
    assert provider is not None  # route() found it serving videos
    spec = spec_from(body, reference)
    settings = services.settings.videos
    row = new_job_row(caller, model, spec, settings, time.time())
    pool = await _draw(services, caller, spec, row)
    try:
        where = Route(ENDPOINT, model.slug, model.provider)
        ticket = await services.meter.admit(caller, where, Claim(prompt_tokens=0))
    except BaseException:
        await _undo(services, row["id"], row["lease_owner"])
        raise
    return VideoRun(services, ticket, model, provider, spec, pool, row["id"], row["lease_owner"])


async def _draw(
    services: Services, caller: Caller, spec: VideoSpec, row: dict[str, Any]
) -> SecondsPool:
    """Draw the job's seconds and record the job, at once; 429 when too few are left."""
    async with services.engine.begin() as conn:
        pool = await store.draw_and_create(conn, caller.plan, row)
    if pool is not None:
        return pool
    async with services.engine.connect() as conn:
        current = await store.pool(conn, caller.workspace_id, caller.plan, row["period"])
    refused = QuotaExceeded(
        insufficient_seconds_message(spec.seconds_int, current),
        param="seconds",
        headers={"x-should-retry": "false"},
    )
    refused.unit = "video_seconds"
    raise refused


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


async def _undo(services: Services, job_id: str, owner: str) -> None:
    with anyio.CancelScope(shield=True):
        async with services.engine.begin() as conn:
            await store.abandon(conn, job_id, owner)


@dataclass
class VideoRun:
    """An admitted job being handed to the upstream (run by web/answers.py). If the
    upstream refuses it or the client leaves first, the job is undone and costs nothing."""

    services: Services
    ticket: Ticket
    model: ModelEntry
    provider: VideoProvider
    spec: VideoSpec
    pool: SecondsPool
    job_id: str
    owner: str
    answered: bool = False
    streamed: bool = False

    async def complete(self) -> Answer:
        try:
            upstream = await self.provider.create_video(self.spec, self.model)
        except BaseException:  # refused, or the client left before the upstream answered
            await _undo(self.services, self.job_id, self.owner)
            raise
        with anyio.CancelScope(shield=True):
            job = await self._record(upstream, self.services.settings.videos)
        self.answered = True
        headers = {}
        if self.pool.remaining is not None:
            headers["x-writingmate-video-seconds-remaining"] = str(self.pool.remaining)
        after = poll_after_ms(job, self.services.settings.videos.poll_seconds)
        if after is not None:
            headers["openai-poll-after-ms"] = str(after)
        content = orjson.dumps(job.as_openai())
        return Answer(content, headers=headers, video_seconds=self.spec.seconds_int)

    async def _record(self, upstream: UpstreamVideo, settings: VideoSettings) -> Job:
        """Remember the upstream's job. Should that fail, the client is told not to retry:
        an SDK repeats a POST that failed with a 5xx, which would start a second job."""
        next_poll = _ms(time.time() + settings.poll_seconds)
        try:
            async with self.services.engine.begin() as conn:
                job = await store.submitted(conn, self.job_id, self.owner, upstream, next_poll)
        except Exception as exc:
            raise self._unrecorded() from exc
        if job is None:
            raise self._unrecorded()
        return job

    def _unrecorded(self) -> InternalError:
        log.error("video %s: the upstream job could not be recorded", self.job_id, exc_info=True)
        return InternalError(
            "The video job was started but could not be recorded; do not retry.",
            headers={"x-should-retry": "false"},
        )

    async def usage(self) -> Usage:
        return Usage()

    def delivered(self) -> bool:
        return self.answered


async def retrieve_video(services: Services, caller: Caller, video_id: str) -> Job:
    async with services.engine.connect() as conn:
        job = await store.get(conn, video_id, caller.workspace_id)
    if job is None:
        raise NotFound(
            f"No video with id '{video_id}' in this workspace.",
            param="video_id",
            code="video_not_found",
        )
    return job


async def video_content(
    services: Services, caller: Caller, video_id: str, variant: str
) -> VideoContent:
    job = await retrieve_video(services, caller, video_id)
    if job.status != COMPLETED or job.upstream_id is None:
        why = "it failed" if job.status == FAILED else f"it is still {job.status}"
        # 404 as OpenAI answers it ("Video is not ready yet").
        raise NotFound(
            f"Video '{video_id}' has no content: {why}. Poll GET /videos/{video_id} until its "
            "status is `completed`.",
            param="video_id",
            code="video_not_ready",
        )
    provider = provider_named(services, job.provider)
    if provider is None:
        raise UpstreamUnavailable(
            f"The provider that made this video ({job.provider}) is no longer configured."
        )
    return await provider.video_content(job.upstream_id, variant)
