"""`Idempotency-Key` rows on SQLite and PostgreSQL (storage/idempotency.py): one attempt runs a
key however many race for it, a lapsed lease is taken over once, and an attempt that lost its
key writes nothing."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.idempotency import DONE, RUNNING, Seen
from storage import idempotency as store
from storage.engine import create_engine
from storage.idempotency import Answer, Attempt
from tests.services.postgres import server_bin

T = TypeVar("T")
NOW, LEASE, TTL = 1_800_000_000_000, 30_000, 86_400_000


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    if request.param == "sqlite":
        shutil.copy(migrated_template, tmp_path / "gateway.db")
        return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    if server_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    return str(request.getfixturevalue("database_url"))


def attempt(n: int, fingerprint: str = "f" * 64, owner: str = "1:aa:host") -> Attempt:
    return Attempt("key_1", "retry-1", fingerprint, f"req_{n}", owner)


def on(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def claim(engine: AsyncEngine, who: Attempt, now: int = NOW) -> Seen | None:
    async with engine.begin() as conn:
        return await store.claim(conn, who, now, LEASE, TTL)


async def write(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with engine.begin() as conn:
        return await work(conn)


async def peek(engine: AsyncEngine) -> Seen | None:
    async with engine.connect() as conn:
        return await store.peek(conn, "key_1", "retry-1")


def test_of_twenty_attempts_racing_for_a_key_one_runs_it(url: str) -> None:
    async def race(engine: AsyncEngine) -> list[Seen | None]:
        return await asyncio.gather(*(claim(engine, attempt(n)) for n in range(20)))

    outcomes = on(url, race)
    assert outcomes.count(None) == 1
    assert {seen.state for seen in outcomes if seen is not None} == {RUNNING}


def test_a_lapsed_lease_is_taken_over_by_one_attempt(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> list[Seen | None]:
        assert await claim(engine, attempt(0)) is None
        later = NOW + LEASE + 1
        return await asyncio.gather(*(claim(engine, attempt(n), later) for n in range(1, 11)))

    assert on(url, scenario).count(None) == 1


def test_an_attempt_that_lost_its_key_writes_nothing(url: str) -> None:
    answer = Answer(200, [("content-type", "application/json")], b"{}")

    async def scenario(engine: AsyncEngine) -> tuple[bool, bool, object]:
        await claim(engine, attempt(0))
        await claim(engine, attempt(1), NOW + LEASE + 1)  # takes it over
        lost = await write(engine, lambda c: store.finish(c, attempt(0), DONE, answer))
        await write(engine, lambda c: store.forget(c, attempt(0)))
        kept = await write(engine, lambda c: store.finish(c, attempt(1), DONE, answer))
        async with engine.connect() as conn:
            return lost, kept, await store.answer(conn, "key_1", "retry-1")

    lost, kept, stored = on(url, scenario)
    assert (lost, kept) == (False, True)
    assert stored == answer


def test_another_fingerprint_never_takes_over_a_lapsed_lease(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> object:
        await claim(engine, attempt(0))
        return await claim(engine, attempt(1, fingerprint="0" * 64), NOW + LEASE + 1)

    assert on(url, scenario) is not None


def test_the_heartbeat_renews_only_its_own_running_keys(url: str) -> None:
    mine, theirs = attempt(0, owner="1:aa:host"), attempt(0, owner="2:bb:host")

    async def lease(engine: AsyncEngine) -> int | None:
        seen = await peek(engine)
        return seen.lease_until if seen is not None else None

    async def scenario(engine: AsyncEngine) -> tuple[int | None, int | None]:
        await claim(engine, mine)
        key = [("key_1", "retry-1")]
        await write(engine, lambda c: store.renew(c, theirs.owner, key, NOW + 99_000))
        untouched = await lease(engine)
        await write(engine, lambda c: store.renew(c, mine.owner, key, NOW + 99_000))
        return untouched, await lease(engine)

    assert on(url, scenario) == (NOW + LEASE, NOW + 99_000)


def test_expired_keys_are_purged_but_not_one_still_running(url: str) -> None:
    key = [("key_1", "retry-1")]

    async def scenario(engine: AsyncEngine) -> tuple[int, int]:
        await claim(engine, attempt(0))
        await write(engine, lambda c: store.renew(c, attempt(0).owner, key, NOW + TTL + LEASE))
        running = await write(engine, lambda c: store.purge(c, NOW + TTL))
        return running, await write(engine, lambda c: store.purge(c, NOW + TTL + LEASE))

    assert on(url, scenario) == (0, 1)
