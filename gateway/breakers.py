"""The circuit breakers of every upstream, as a request meets them: whether it may call an
upstream now, and what its call did (domain/breaker.py has the rules; the state is shared
through the database or Redis).

A closed breaker costs a request no I/O: each process keeps what it last read of a breaker for
FRESH_SECONDS, so a breaker another worker opened is seen within that time. Every failure is
written at once (failures are rare), and a success only when it changes something.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Protocol

from domain.breaker import BreakerSettings, BreakerState, Verdict
from storage import breakers as sql
from storage.group_commit import GroupCommit

log = logging.getLogger("wmgw.breakers")
FRESH_SECONDS = 1.0


class BreakerStore(Protocol):
    async def record_failure(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState: ...

    async def record_success(self, name: str, now_ms: int) -> BreakerState | None: ...

    async def claim_probe(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState | None: ...

    async def states(self, names: Sequence[str]) -> dict[str, BreakerState]: ...

    async def aclose(self) -> None: ...


class DatabaseBreakers:
    def __init__(self, writer: GroupCommit) -> None:
        self.writer = writer

    async def record_failure(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState:
        result: BreakerState = await self.writer.run(
            partial(sql.record_failure, name=name, now_ms=now_ms, settings=settings)
        )
        return result

    async def record_success(self, name: str, now_ms: int) -> BreakerState | None:
        result: BreakerState | None = await self.writer.run(
            partial(sql.record_success, name=name, now_ms=now_ms)
        )
        return result

    async def claim_probe(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState | None:
        result: BreakerState | None = await self.writer.run(
            partial(sql.claim_probe, name=name, now_ms=now_ms, settings=settings)
        )
        return result

    async def states(self, names: Sequence[str]) -> dict[str, BreakerState]:
        result: dict[str, BreakerState] = await self.writer.run(partial(sql.states, names=names))
        return result

    async def aclose(self) -> None:
        """The writer belongs to the metering, which closes it."""


class BreakerWatch(Protocol):
    """Told what this process sees of its breakers (gateway/metrics.py)."""

    def breaker_seen(self, name: str, verdict: Verdict) -> None: ...

    def breaker_opened(self, name: str) -> None: ...


def _now_ms() -> int:
    return int(time.time() * 1000)


class Breakers:
    def __init__(
        self,
        store: BreakerStore,
        settings: Mapping[str, BreakerSettings],
        clock: Callable[[], int] = _now_ms,
        fresh_seconds: float = FRESH_SECONDS,
        watch: BreakerWatch | None = None,
    ) -> None:
        self.store = store
        self.watch = watch
        self.settings = dict(settings)
        self.clock = clock
        self.fresh_seconds = fresh_seconds
        self._known: dict[str, tuple[BreakerState, float]] = {}
        self._reading: dict[str, asyncio.Future[BreakerState]] = {}

    def _settings(self, provider: str) -> BreakerSettings:
        return self.settings.get(provider) or BreakerSettings()

    async def admits(self, name: str, provider: str) -> bool:
        """Whether a request may call this upstream now (as the probe, when half-open)."""
        now = self.clock()
        state = await self._state(name)
        verdict = state.verdict(now)
        if verdict is Verdict.CLOSED:
            return True
        if verdict is Verdict.OPEN or not state.probe_free(now):
            return False
        claimed = await self.store.claim_probe(name, now, self._settings(provider))
        if claimed is None:
            self._forget(name)  # another worker is probing: read its outcome next time
            return False
        self._remember(name, claimed)
        log.info("circuit %s half-open: this request probes it", name)
        return True

    async def failed(self, name: str, provider: str) -> None:
        before = self._known.get(name, (BreakerState(), 0.0))[0]
        now = self.clock()
        try:
            after = await self.store.record_failure(name, now, self._settings(provider))
        except Exception:  # the breaker is advice; the request's own answer matters more
            log.exception("circuit %s: a failure could not be recorded", name)
            return
        self._remember(name, after)
        if after.verdict(now) is Verdict.OPEN and before.open_until != after.open_until:
            if self.watch is not None:
                self.watch.breaker_opened(name)
            log.warning(
                "circuit %s opened after %d failures: skipped until %d",
                name,
                after.failures,
                after.open_until,
            )

    async def succeeded(self, name: str) -> None:
        known = await self._state(name)
        if known.failures == 0 and known.open_until == 0:
            return
        try:
            after = await self.store.record_success(name, self.clock())
        except Exception:
            log.exception("circuit %s: a success could not be recorded", name)
            return
        if after is not None:
            if known.open_until:
                log.info("circuit %s closed: its probe succeeded", name)
            self._remember(name, after)

    async def _state(self, name: str) -> BreakerState:
        known = self._known.get(name)
        if known is not None and time.monotonic() - known[1] < self.fresh_seconds:
            return known[0]
        reading = self._reading.get(name)
        if reading is None:
            reading = self._reading[name] = asyncio.ensure_future(self._read(name))
        return await asyncio.shield(reading)

    async def _read(self, name: str) -> BreakerState:
        try:
            state = (await self.store.states([name])).get(name, BreakerState())
        except Exception:
            log.exception("circuit %s could not be read; treated as closed", name)
            state = BreakerState()
        finally:
            self._reading.pop(name, None)
        self._remember(name, state)
        return state

    def _remember(self, name: str, state: BreakerState) -> None:
        self._known[name] = (state, time.monotonic())
        if self.watch is not None:
            self.watch.breaker_seen(name, state.verdict(self.clock()))

    def _forget(self, name: str) -> None:
        self._known.pop(name, None)

    async def aclose(self) -> None:
        await self.store.aclose()
