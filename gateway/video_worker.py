"""The video worker: an asyncio task in every gateway process that moves jobs along by polling
their upstream, from the database's state, so a restart (or a crash) loses nothing.

Each round it lists the active jobs whose next poll is due and takes each one's lease with a
conditional UPDATE: however many processes and hosts run, one polls a job at a time, and a
job held by a process that died is taken over when its lease runs out. A poll records the
status and progress; a failure the upstream reports fails the job and gives its seconds back;
a poll that fails for a passing reason (timeout, 5xx, 429) is retried later, with backoff,
until the job's deadline, when it fails. A job whose creation never reached the upstream (the
process died on the way) is undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import GatewayError, NotFound
from domain.videos import COMPLETED, FAILED, Job, failure, next_poll_delay
from gateway.routing import provider_named
from gateway.services import Services
from gateway.settings import VideoSettings
from providers.base import VideoProvider
from storage import videos as store

log = logging.getLogger("wmgw.videos")
ProviderLookup = Callable[[str], VideoProvider | None]


class VideoWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        providers: ProviderLookup,
        settings: VideoSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.providers = providers
        self.settings = settings
        self.clock = clock
        self.owner = f"worker:{secrets.token_hex(8)}"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.worker and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="wmgw-videos")

    async def stop(self) -> None:
        """Stop polling and let go of the jobs this process holds."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            async with self.engine.begin() as conn:
                await store.release_leases(conn, self.owner)
        except Exception:  # noqa: BLE001 - the leases run out by themselves
            log.warning("video worker could not release its leases", exc_info=True)

    async def _run(self) -> None:
        while True:
            taken = 0
            try:
                taken = await self.round()
            except Exception:  # noqa: BLE001 - the database may be down for a while
                log.exception("video worker round failed")
            if taken < self.settings.batch:  # a full batch: more may be due already
                await asyncio.sleep(self.settings.poll_seconds)

    async def round(self) -> int:
        """Poll every due job this process can take; how many it took."""
        now_ms = int(self.clock() * 1000)
        lease_ms = int(self.settings.lease_seconds * 1000)
        async with self.engine.connect() as conn:
            due = await store.due(conn, now_ms, self.settings.batch)
        taken: list[Job] = []
        for job_id in due:
            async with self.engine.begin() as conn:
                job = await store.claim(conn, job_id, self.owner, now_ms, lease_ms)
            if job is not None:
                taken.append(job)
        at_once = asyncio.Semaphore(self.settings.concurrency)
        await asyncio.gather(*(self._advance(job, at_once) for job in taken))
        return len(taken)

    async def _advance(self, job: Job, at_once: asyncio.Semaphore) -> None:
        async with at_once:
            try:
                await self._poll(job)
            except Exception:  # noqa: BLE001 - one job's trouble must not stop the others
                log.exception("video job %s: poll failed", job.id)

    async def _poll(self, job: Job) -> None:
        if job.upstream_id is None:
            async with self.engine.begin() as conn:
                await store.abandon(conn, job.id, self.owner)
            return
        provider = self.providers(job.provider)
        if provider is None:
            await self._retry_or_expire(job, "its provider is not configured")
            return
        try:
            async with asyncio.timeout(self.settings.lease_seconds * 0.8):
                video = await provider.retrieve_video(job.upstream_id)
        except NotFound:
            await self._fail(
                job, failure("video_not_found", "The upstream provider lost this video job.")
            )
            return
        except (GatewayError, TimeoutError) as exc:
            await self._retry_or_expire(job, str(exc) or type(exc).__name__)
            return
        if video.status == FAILED:
            await self._fail(job, video.error or failure("video_generation_failed", "Failed."))
        elif video.status != COMPLETED and self.clock() >= job.deadline_at:
            await self._expire(job)
        else:
            async with self.engine.begin() as conn:
                await store.advance(conn, job.id, self.owner, video, self._next(0))

    def _next(self, failed_polls: int) -> int:
        delay = next_poll_delay(failed_polls, self.settings.poll_seconds)
        return int((self.clock() + delay) * 1000)

    async def _retry_or_expire(self, job: Job, reason: str) -> None:
        if self.clock() >= job.deadline_at:
            await self._expire(job)
            return
        log.warning("video job %s: poll failed (%s); retrying", job.id, reason)
        async with self.engine.begin() as conn:
            await store.postpone(conn, job.id, self.owner, self._next(job.polls + 1))

    async def _expire(self, job: Job) -> None:
        message = (
            f"The video was not ready within {self.settings.deadline_seconds} seconds; "
            "its seconds were given back."
        )
        await self._fail(job, failure("video_generation_timeout", message))

    async def _fail(self, job: Job, error: Mapping[str, Any]) -> None:
        async with self.engine.begin() as conn:
            await store.fail(conn, job, self.owner, error, int(self.clock()))


def worker_for(services: Services) -> VideoWorker:
    return VideoWorker(
        services.engine,
        lambda name: provider_named(services, name),
        services.settings.videos,
    )
