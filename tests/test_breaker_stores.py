"""The circuit breakers where they are kept, SQL on SQLite and PostgreSQL, and Redis's Lua,
follow exactly the rules of domain/breaker.py for any sequence of failures, successes and
probes (the time pinned, so the three can be compared)."""

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

from domain import breaker
from domain.breaker import BreakerSettings, BreakerState
from storage import breakers as sql
from storage.engine import sync_url
from storage.redis_breakers import RedisBreakers
from tests.services.postgres import server_bin as postgres_bin
from tests.services.redis import server_bin as redis_bin

Step = tuple[int, str]  # (ms since the previous step, "fail" | "succeed" | "probe")
Outcome = tuple[str, BreakerState | None]
Run = Callable[[BreakerSettings, list[Step]], list[Outcome]]
EXAMPLES = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BreakerSettings, list[Step]]:
    rules = BreakerSettings(
        failures=draw(st.integers(1, 4)),
        cool_down=draw(st.sampled_from([0.05, 1.0])),
        probe=draw(st.sampled_from([0.02, 2.0])),
    )
    gaps = st.one_of(st.just(0), st.integers(0, 60), st.integers(0, 3000))
    steps = st.tuples(gaps, st.sampled_from(["fail", "fail", "succeed", "probe"]))
    return rules, draw(st.lists(steps, min_size=1, max_size=25))


def expected(rules: BreakerSettings, steps: list[Step]) -> list[Outcome]:
    """What the domain's rules say each step returns."""
    now, state, made = 1_700_000_000_000, BreakerState(), []
    for gap, kind in steps:
        now += gap
        if kind == "fail":
            state = breaker.after_failure(state, now, rules)
            made.append((kind, state))
        elif kind == "succeed":
            after = breaker.after_success(state, now)
            changed = after != state and (state.failures or state.open_until)
            made.append((kind, after if changed else None))
            state = after
        else:
            claimed = state.probe_free(now)
            if claimed:
                state = breaker.after_probe_claim(state, now, rules)
            made.append((kind, state if claimed else None))
    return made


async def replay(steps: list[Step], fail: Any, succeed: Any, probe: Any) -> list[Outcome]:
    now, made = 1_700_000_000_000, []
    for gap, kind in steps:
        now += gap
        step = {"fail": fail, "succeed": succeed, "probe": probe}[kind]
        made.append((kind, await step(now)))
    return made


def sql_runner(url: str) -> Iterator[Run]:
    engine = sqlalchemy.create_engine(sync_url(url))

    def run(rules: BreakerSettings, steps: list[Step]) -> list[Outcome]:
        name = f"p:{secrets.token_hex(6)}"
        with engine.begin() as conn:

            async def fail(now: int) -> BreakerState:
                return sql.record_failure(conn, name, now, rules)

            async def succeed(now: int) -> BreakerState | None:
                return sql.record_success(conn, name, now)

            async def probe(now: int) -> BreakerState | None:
                return sql.claim_probe(conn, name, now, rules)

            return asyncio.run(replay(steps, fail, succeed, probe))

    yield run
    engine.dispose()


def redis_run(url: str) -> Run:
    def run(rules: BreakerSettings, steps: list[Step]) -> list[Outcome]:
        name = f"p:{secrets.token_hex(6)}"

        async def go() -> list[Outcome]:
            store = RedisBreakers(url)
            try:
                return await replay(
                    steps,
                    lambda now: store.record_failure(name, now, rules),
                    lambda now: store.record_success(name, now),
                    lambda now: store.claim_probe(name, now, rules),
                )
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
def test_the_store_follows_exactly_the_domains_rules(store: Run, scenario) -> None:  # type: ignore[no-untyped-def]
    rules, steps = scenario
    assert store(rules, steps) == expected(rules, steps)


def test_a_success_while_open_does_not_close_it_only_the_probe_does() -> None:
    rules = BreakerSettings(failures=2, cool_down=10)
    state = breaker.after_failure(breaker.after_failure(BreakerState(), 0, rules), 1, rules)
    assert state.verdict(2).value == "open"
    assert breaker.after_success(state, 5_000) == state
    assert breaker.after_success(state, 11_000) == BreakerState()


def test_a_failed_probe_opens_it_again_for_a_full_cool_down() -> None:
    rules = BreakerSettings(failures=1, cool_down=10)
    opened = breaker.after_failure(BreakerState(), 0, rules)
    probing = breaker.after_probe_claim(opened, 10_000, rules)
    assert not probing.probe_free(10_001)
    again = breaker.after_failure(probing, 10_500, rules)
    assert again.open_until == 20_500 and again.verdict(20_000).value == "open"


def test_each_upstream_key_has_its_own_breaker_and_the_key_is_not_in_its_name() -> None:
    one, other = (
        breaker.breaker_name("openrouter", "sk-1"),
        breaker.breaker_name("openrouter", "sk-2"),
    )
    assert one != other and "sk-1" not in one
    assert breaker.breaker_name("ollama", None) == "ollama"
