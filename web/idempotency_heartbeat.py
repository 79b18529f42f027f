"""The heartbeat of `Idempotency-Key`s: an asyncio task in every gateway process that renews
the leases of the keys the process is running (a long stream outlives a lease), and now and
then deletes expired keys. A process that dies stops renewing, and its keys are taken over by
retries once their leases run out."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from web.idempotency_runs import IdempotentRuns

log = logging.getLogger("wmgw.idempotency")
BEATS_PER_LEASE = 3  # a lease survives two missed beats (a slow database, a busy loop)


class Heartbeat:
    def __init__(self, runs: IdempotentRuns) -> None:
        self.runs = runs
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="wmgw-idempotency")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.runs.drain()

    async def _run(self) -> None:
        settings = self.runs.settings
        interval = settings.lease_seconds / BEATS_PER_LEASE
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.runs.renew_leases()
                if loop.time() >= next_purge:
                    next_purge = loop.time() + settings.purge_seconds
                    await self.runs.purge_expired()
            except Exception:  # noqa: BLE001 - the database may be down for a while
                log.exception("idempotency heartbeat failed")
