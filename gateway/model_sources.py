"""The catalog a process serves: catalog.yaml, plus the lists synced into the database
(OpenRouter's, gateway/model_sync.py), plus the models local servers list (gateway/
local_models.py). Each change rebuilds the whole catalog and swaps it in with one assignment
(`publish`): a request reads one consistent catalog with one dict lookup and never waits for
an upstream's list, except for a model under a discovered server's prefix that is not known yet
(`look_for`).

Which provider rows are asked is data: `discover: openrouter` (OpenRouter's list, with prices
and capabilities) or `discover: openai` (a plain `GET /models` list), on a configured row. Each
model found is a catalog row of that provider, for the row's `plans` (every plan by default),
and a model configured by hand in catalog.yaml keeps its own entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import ALL_PLANS, Catalog, ModelEntry
from gateway.list_sources import ListSource
from gateway.local_models import LocalDiscovery
from gateway.model_sync import SharedLists
from gateway.settings import DiscoverySettings
from providers.base import ModelLister
from providers.registry import Registry

SHARED = "openrouter"  # `discover: openrouter`: synced into the database for every process
LOCAL = "openai"  # `discover: openai`: asked by each process


class ModelSources:
    def __init__(
        self,
        base: Catalog,
        configured: frozenset[str],
        engine: AsyncEngine,
        sources: Mapping[str, Sequence[ListSource]],
        settings: DiscoverySettings,
    ) -> None:
        self.base = base
        self.configured = configured
        self.publish: Callable[[Catalog], None] = lambda catalog: None
        self.shared = SharedLists(
            engine, sources.get(SHARED, ()), settings.openrouter_sync_seconds, self._use_synced
        )
        self.local = LocalDiscovery(sources.get(LOCAL, ()), settings.local_seconds, self._use_local)
        self._synced: list[ModelEntry] = []
        self._local: dict[str, list[ModelEntry]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Serve the stored lists at once; fetch and discover in the background."""
        await self.shared.load()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.shared.run(), name="wmgw-model-sync"))
        if self.local.active:
            self._tasks.append(loop.create_task(self.local.run(), name="wmgw-model-discovery"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.local.stop()

    async def look_for(self, slug: str) -> None:
        """Called for a model this process does not know, before the request is routed."""
        await self.local.look_for(slug)

    def _use_synced(self, entries: list[ModelEntry]) -> None:
        # A list whose provider is not configured serves nothing; left out, the models
        # configured by hand keep their entries, and a 404 names their own provider's setting.
        self._synced = [entry for entry in entries if entry.provider in self.configured]
        self._rebuild()

    def _use_local(self, provider: str, entries: list[ModelEntry]) -> None:
        self._local[provider] = entries
        self._rebuild()

    def _rebuild(self) -> None:
        found = itertools.chain(self._synced, *self._local.values())
        self.publish(self.base.with_synced(found, self.configured))


def list_sources(
    rows: Sequence[Mapping[str, Any]], registry: Registry
) -> dict[str, list[ListSource]]:
    """The configured rows that ask for discovery, by how (`discover`)."""
    found: dict[str, list[ListSource]] = {SHARED: [], LOCAL: []}
    for row in rows:
        how = row.get("discover")
        if how is None or row["name"] not in registry.configured:
            continue
        lister = registry.serving(row["name"], ModelLister)
        if how not in found or lister is None:
            raise ValueError(
                f"provider {row['name']}: `discover: {how}` needs `openai` or `openrouter` "
                "on an OpenAI-compatible provider"
            )
        plans = tuple(str(plan) for plan in row.get("plans") or [ALL_PLANS])
        found[how].append(ListSource(row["name"], lister, plans))
    return found
