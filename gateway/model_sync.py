"""Model lists kept in the database (OpenRouter's: rows with `discover: openrouter`), shared by
every gateway process and host.

A process reads the stored lists when it starts, without waiting for any upstream, and again
whenever they change (it looks every CHECK_SECONDS, or the sync interval when shorter), so a
list stored by another process or by `wmgw models sync-openrouter` is served without a restart.
A process that finds a list older than the interval fetches it anew and stores it. Several
processes may do so at about the same time: a few fetches of a list every few hours, of which
the database keeps one. A fetch that fails, or lists no chat model, keeps the last list and is
tried again RETRY_SECONDS later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import ModelEntry, entry_from_config
from domain.errors import UpstreamError
from gateway.list_sources import ListHealth, ListSource
from providers.openai_compatible.openrouter_models import catalog_rows
from storage import synced_models

log = logging.getLogger("wmgw.models")
CHECK_SECONDS = 60.0
RETRY_SECONDS = 300.0
FETCH_DEADLINE_SECONDS = 30.0


class EmptyList(UpstreamError):
    """An upstream's list without a single chat model: more likely a fault than the truth."""


class SharedLists:
    def __init__(
        self,
        engine: AsyncEngine,
        sources: Sequence[ListSource],
        interval: float,
        publish: Callable[[list[ModelEntry]], None],
        *,
        check_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.sources = sources
        self.interval = interval  # 0: never fetch, only read what others store
        self.publish = publish
        self.check_seconds = check_seconds or min(interval or CHECK_SECONDS, CHECK_SECONDS)
        self.clock = clock
        self.health = ListHealth(log)
        self._version: synced_models.Version | None = None
        self._counts: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    async def load(self) -> None:
        """Read the stored lists, when they changed since the last read."""
        async with self.engine.connect() as conn:
            version = await synced_models.version(conn)
            if version == self._version:
                return
            rows = await synced_models.all_rows(conn)
        self._version = version
        entries = [entry_from_config(row) for row in rows]
        self._counts = {}
        for entry in entries:
            self._counts[entry.provider] = self._counts.get(entry.provider, 0) + 1
        self.publish(entries)

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:  # noqa: BLE001 - the database may be down for a while
                log.exception("model list round failed")
            # Spread out, so that processes started together do not all fetch together.
            await asyncio.sleep(self.check_seconds * random.uniform(0.9, 1.1))

    async def round(self) -> None:
        await self.load()
        for source in self.sources:
            if self.interval > 0 and await self._due(source.name):
                await self.sync(source)

    async def sync(self, source: ListSource) -> None:
        """Fetch the source's list and store it for every process; on failure keep the last."""
        try:
            async with asyncio.timeout(FETCH_DEADLINE_SECONDS):
                payload = await source.lister.list_models()
            rows = catalog_rows(payload, source.name, source.plans)
            if not rows:
                raise EmptyList("The upstream provider listed no chat model.")
        except Exception as failure:  # noqa: BLE001 - whatever the upstream did, the last list stays
            self._retry_at[source.name] = self.clock() + min(RETRY_SECONDS, self.interval)
            self.health.failed(source.name, failure, kept=self._counts.get(source.name, 0))
            return
        async with self.engine.begin() as conn:
            await synced_models.replace(conn, source.name, rows)
        self._retry_at.pop(source.name, None)
        changed = len(rows) != self._counts.get(source.name)
        await self.load()
        self.health.listed(source.name, len(rows), changed)

    async def _due(self, name: str) -> bool:
        now = self.clock()
        if now < self._retry_at.get(name, 0.0):
            return False
        async with self.engine.connect() as conn:
            last = await synced_models.last_synced(conn, name)
        return last is None or now - last.timestamp() >= self.interval
