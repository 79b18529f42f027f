"""Models of OpenAI-compatible servers that list their own (rows with `discover: openai`:
Ollama, vLLM, llama.cpp), found by each process for itself: their lists are small and near.

Each server is asked at start, then every `WMGW_DISCOVERY_SECONDS`, and again when a request
names a model under its prefix that the process does not know (at most every LOOK_GAP_SECONDS
per server, the request waiting LOOK_WAIT_SECONDS at most), so a model just pulled or loaded is
served at once. A server that does not answer lists nothing until it does; one that stops
answering keeps its last list: its models then fail as a server that is down does (502, 503),
rather than vanish as unknown (404).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from domain.catalog import ModelEntry, entry_from_config
from gateway.list_sources import ListHealth, ListSource
from providers.openai_compatible.model_lists import discovered_rows

log = logging.getLogger("wmgw.models")
DEADLINE_SECONDS = 5.0
LOOK_GAP_SECONDS = 5.0
LOOK_WAIT_SECONDS = 2.0

Publish = Callable[[str, list[ModelEntry]], None]


class LocalDiscovery:
    def __init__(
        self,
        sources: Sequence[ListSource],
        interval: float,
        publish: Publish,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = {source.name: source for source in sources}
        self.interval = interval  # 0: never ask
        self.publish = publish
        self.clock = clock
        self.health = ListHealth(log)
        self._known: dict[str, list[ModelEntry]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._next_look: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return self.interval > 0 and bool(self.sources)

    async def run(self) -> None:
        while True:
            await asyncio.gather(*(self.refresh(name) for name in self.sources))
            await asyncio.sleep(self.interval)

    async def refresh(self, name: str) -> None:
        """Ask the server for its list; a request already on its way is waited for, not
        repeated."""
        task = self._running.get(name)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._discover(self.sources[name]), name=f"wmgw-discover-{name}"
            )
            self._running[name] = task
            task.add_done_callback(lambda _: self._running.pop(name, None))
        await asyncio.shield(task)  # a request that stops waiting leaves it running

    async def look_for(self, slug: str) -> None:
        """A request names `slug`, which this process does not know: when its prefix is a
        discovered server, ask that server again before the request is routed."""
        name, slash, _ = slug.partition("/")
        if not slash or name not in self.sources or not self.active:
            return
        now = self.clock()
        if name not in self._running and now < self._next_look.get(name, 0.0):
            return
        self._next_look[name] = now + LOOK_GAP_SECONDS
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LOOK_WAIT_SECONDS):
                await self.refresh(name)

    async def stop(self) -> None:
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _discover(self, source: ListSource) -> None:
        kept = self._known.get(source.name, [])
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                payload = await source.lister.list_models()
            rows = discovered_rows(payload, source.name, source.plans)
        except Exception as failure:  # noqa: BLE001 - whatever the server did, the last list stays
            self.health.failed(source.name, failure, kept=len(kept))
            return
        entries = [entry_from_config(row) for row in rows]
        changed = entries != kept or source.name not in self._known
        self.health.listed(source.name, len(entries), changed)
        if changed:
            self._known[source.name] = entries
            self.publish(source.name, entries)
