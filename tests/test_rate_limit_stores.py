"""The rate-limit buckets where they are kept, SQL on SQLite and PostgreSQL, and Redis's Lua,
give exactly the decisions of domain/ratelimit.py for any sequence of takes and give-backs
(the time pinned, so the three can be compared)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import ratelimit
from domain.ratelimit import PERIOD_MS, Bucket, Decision, Reservation
from storage import rate_limits
from storage.engine import sync_url
from storage.group_commit import GroupCommit
from storage.redis_buckets import RedisBuckets
from tests.services.postgres import server_bin as postgres_bin
from tests.services.redis import server_bin as redis_bin

Step = tuple[int, str, int]  # (ms since the previous step, "take" | "settle", amount)
Run = Callable[[int, list[Step]], list[Decision]]
EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[Step]]:
    limit = draw(st.one_of(st.integers(1, 50), st.sampled_from([7, 60_001, 150_000_000])))
    amounts = st.integers(0, 2 * limit)
    gaps = st.one_of(st.just(0), st.integers(0, 30), st.integers(0, 2 * PERIOD_MS))
    steps = st.tuples(gaps, st.sampled_from(["take", "take", "settle"]), amounts)
    return limit, draw(st.lists(steps, min_size=1, max_size=30))


async def replay(limit: int, steps: list[Step], take: Any, give_back: Any) -> list[Decision]:
    """Run the steps against one implementation; the decisions of the takes. A settle gives
    back the reservation it picks (by `amount`) with `amount` units used."""
    now, held, made = 1_700_000_000_000, [], []
    for gap, kind, amount in steps:
        now += gap
        if kind == "take":
            cost = max(1, amount)
            decision = await take(limit, cost, now)
            made.append(decision)
            if decision.admitted:
                held.append(Reservation(cost, decision.bucket))
        elif held:
            await give_back(limit, held.pop(amount % len(held)), amount, now)
    return made


def domain_run(limit: int, steps: list[Step]) -> list[Decision]:
    state = {"bucket": Bucket()}

    async def take(limit: int, cost: int, now: int) -> Decision:
        decision = ratelimit.take(state["bucket"], now, limit, cost)
        state["bucket"] = decision.bucket
        return decision

    async def give_back(limit: int, reservation: Reservation, used: int, now: int) -> None:
        state["bucket"] = ratelimit.give_back(state["bucket"], now, limit, reservation, used)

    return asyncio.run(replay(limit, steps, take, give_back))


def sql_runner(url: str) -> Iterator[Run]:
    engine = sqlalchemy.create_engine(sync_url(url))

    def run(limit: int, steps: list[Step]) -> list[Decision]:
        key_id = secrets.token_hex(8)
        with engine.begin() as conn:

            async def take(limit: int, cost: int, now: int) -> Decision:
                return rate_limits.take(conn, key_id, "tokens", limit, cost, now_ms=now)

            async def give_back(limit: int, reservation: Reservation, used: int, now: int) -> None:
                rate_limits.give_back(conn, key_id, "tokens", limit, reservation, used, now)

            return asyncio.run(replay(limit, steps, take, give_back))

    yield run
    engine.dispose()


def redis_run(url: str) -> Run:
    def run(limit: int, steps: list[Step]) -> list[Decision]:
        key_id = secrets.token_hex(8)

        async def go() -> list[Decision]:
            store = RedisBuckets(url)

            async def take(limit: int, cost: int, now: int) -> Decision:
                return await store.take(key_id, "tokens", limit, cost, now_ms=now)

            async def give_back(limit: int, reservation: Reservation, used: int, now: int) -> None:
                await store.give_back(key_id, "tokens", limit, reservation, used, now_ms=now)

            try:
                return await replay(limit, steps, take, give_back)
            finally:
                await store.aclose()

        return asyncio.run(go())

    return run


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, migrated_template: Path, tmp_path: Path) -> Iterator[Run]:
    if request.param == "sqlite":
        shutil.copy(migrated_template, tmp_path / "gateway.db")
        yield from sql_runner(f"sqlite:///{tmp_path / 'gateway.db'}")
    elif request.param == "postgresql":
        if postgres_bin() is None:
            pytest.skip("PostgreSQL is not installed")
        yield from sql_runner(request.getfixturevalue("database_url"))
    else:
        if redis_bin() is None:
            pytest.skip("redis-server is not installed")
        yield redis_run(request.getfixturevalue("redis_server"))


@EXAMPLES
@given(scenarios())
def test_the_store_decides_exactly_as_the_domain(store: Run, scenario) -> None:  # type: ignore[no-untyped-def]
    limit, steps = scenario
    assert store(limit, steps) == domain_run(limit, steps)


def test_a_writer_in_lock_order_runs_each_batch_sorted_and_answers_each_caller(
    tmp_path: Path,
) -> None:
    """On PostgreSQL the buckets get a writer of their own that locks rows in one order, so
    that batches of several workers never deadlock waiting for each other's rows."""
    ran: list[str] = []

    def operation(key: str) -> Callable[[Any], str]:
        def run(_conn: Any) -> str:
            ran.append(key)
            return key.upper()

        run.keywords = {"key_id": key, "unit": "requests"}  # type: ignore[attr-defined]
        return run

    async def batch() -> list[str]:
        writer = GroupCommit(f"sqlite:///{tmp_path / 'w.db'}", lock_order=rate_limits.lock_order)
        try:
            return await asyncio.gather(*(writer.run(operation(k)) for k in ["c", "a", "b"]))
        finally:
            await writer.aclose()

    assert asyncio.run(batch()) == ["C", "A", "B"]
    assert ran == ["a", "b", "c"]
