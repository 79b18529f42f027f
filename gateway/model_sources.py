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
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import ALL_PLANS, Catalog, ModelEntry
from domain.catalog_checks import ModelRules
from domain.provider_kinds import LOCAL_DISCOVERY, SHARED_DISCOVERY
from gateway.list_sources import ListSource
from gateway.local_models import LocalDiscovery
from gateway.model_sync import SharedLists
from gateway.settings import DiscoverySettings
from providers.registry import Registry

SHARED = SHARED_DISCOVERY  # `discover: openrouter`: synced into the database for every process
LOCAL = LOCAL_DISCOVERY  # `discover: openai`: asked by each process
log = logging.getLogger("wmgw.models")
SHOWN_LEFT_OUT = 5  # slugs a warning names, of the models a list brought that do not fit


class ModelSources:
    def __init__(
        self,
        base: Catalog,
        configured: frozenset[str],
        engine: AsyncEngine,
        sources: Mapping[str, Sequence[ListSource]],
        settings: DiscoverySettings,
        rules: ModelRules,
    ) -> None:
        self.base = base
        self.configured = configured
        self.rules = rules  # what a model found at run time must fit, as catalog.yaml's do
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
        ready = [entry for entry in entries if entry.provider in self.configured]
        self._synced = self._fitting(ready)
        self._rebuild()

    def _use_local(self, provider: str, entries: list[ModelEntry]) -> None:
        self._local[provider] = self._fitting(entries)
        self._rebuild()

    def _fitting(self, entries: list[ModelEntry]) -> list[ModelEntry]:
        """The models their provider's kind can serve; the others are left out with a warning
        per provider (a list that changed at run time must not stop a running server)."""
        fit, left_out = self.rules.fitting(entries)
        by_provider: dict[str, list[str]] = {}
        for entry in entries:
            if entry.slug in left_out:
                by_provider.setdefault(entry.provider, []).append(entry.slug)
        for provider, slugs in by_provider.items():
            shown = "; ".join(f"{slug}: {left_out[slug]}" for slug in slugs[:SHOWN_LEFT_OUT])
            more = (
                f"; and {len(slugs) - SHOWN_LEFT_OUT} more" if len(slugs) > SHOWN_LEFT_OUT else ""
            )
            log.warning(
                "model list of %s: %d left out, as the catalog file would refuse them (%s%s)",
                provider,
                len(slugs),
                shown,
                more,
            )
        return fit

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
        lister = registry.lister(row["name"])
        if how not in found or lister is None:  # refused by the catalog's check at start
            raise ValueError(f"provider {row['name']}: `discover: {how}` cannot be served")
        plans = tuple(str(plan) for plan in row.get("plans") or [ALL_PLANS])
        found[how].append(ListSource(row["name"], lister, plans))
    return found
