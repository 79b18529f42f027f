"""Circuit breakers as clients meet them: an upstream that keeps failing is skipped for a
cool-down (its fallback serves, or a 503 `circuit_open` says so), then one request probes it;
the state is shared by every worker, through PostgreSQL or Redis."""

from __future__ import annotations

import asyncio
import functools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from domain.breaker import BreakerSettings, breaker_name
from gateway.breakers import Breakers, DatabaseBreakers
from storage import usage
from storage.group_commit import GroupCommit
from tests.conftest import SERVER_SECRET, Gateway, seed
from tests.fakes.faulty import FaultyUpstream
from tests.services.gunicorn import gunicorn_gateway
from tests.services.postgres import server_bin as postgres_bin
from tests.services.redis import server_bin as redis_bin

MODEL = "anthropic/claude-haiku-4.5"
HELLO = [{"role": "user", "content": "hello"}]
BREAKER = {
    "WMGW_RETRIES": "0",
    "WMGW_BREAKER_FAILURES": "3",
    "WMGW_BREAKER_COOL_DOWN_SECONDS": "2",
    "WMGW_ANTHROPIC_API_KEY": "sk-ant-breaker",
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    fake = FaultyUpstream("anthropic")
    with fake.serve():
        yield fake


@pytest.fixture
def fake(upstream: FaultyUpstream) -> FaultyUpstream:
    upstream.reset()
    return upstream


def chat(http: httpx.Client, **extra: object) -> httpx.Response:
    return http.post("/chat/completions", json={"model": MODEL, "messages": HELLO, **extra})


def test_an_upstream_failing_again_and_again_is_skipped_then_probed_then_used_again(
    start_gateway: Callable[..., Gateway], fake: FaultyUpstream
) -> None:
    gw = start_gateway(env={**BREAKER, "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url)})
    fake.script("overloaded", "overloaded", "overloaded")
    with gw.http() as http:
        assert [chat(http).status_code for _ in range(3)] == [503, 503, 503]
        skipped = chat(http)
        assert skipped.status_code == 503
        assert skipped.json()["error"]["code"] == "circuit_open"
        assert skipped.headers["x-writingmate-messages-counted"] == "0"
        served = chat(http, models=["writingmate/echo"])
        assert served.json()["model"] == "writingmate/echo"
        assert len(fake.requests) == 3  # neither reached the upstream

        time.sleep(2.1)  # the cool-down
        fake.script("ok", "ok")
        probe = chat(http)
        assert (probe.status_code, probe.json()["model"]) == (200, MODEL)
        assert chat(http).status_code == 200  # closed again
    assert len(fake.requests) == 5
    row = gw.ledger()[4]
    attempts = gw.db(functools.partial(usage.attempt_rows, request_id=row["request_id"]))
    assert [(a["model"], a["outcome"]) for a in attempts] == [
        (MODEL, "skipped_open_circuit"),
        ("writingmate/echo", "served"),
    ]


def test_each_upstream_key_has_its_own_breaker(migrated_template: Path, tmp_path: Path) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    writer = GroupCommit(f"sqlite:///{tmp_path / 'gateway.db'}")
    rules = {"openrouter": BreakerSettings(failures=2, cool_down=60)}
    one, other = breaker_name("openrouter", "sk-one"), breaker_name("openrouter", "sk-other")

    async def run() -> tuple[bool, bool]:
        breakers = Breakers(DatabaseBreakers(writer), rules)
        for _ in range(2):
            await breakers.failed(one, "openrouter")
        return await breakers.admits(one, "openrouter"), await breakers.admits(other, "openrouter")

    try:
        assert asyncio.run(run()) == (False, True)
    finally:
        asyncio.run(writer.aclose())


def concurrently(url: str, key: str, count: int) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            body = {"model": MODEL, "messages": HELLO}
            return list(
                await asyncio.gather(
                    *(
                        client.post("/api/openai/v1/chat/completions", json=body)
                        for _ in range(count)
                    )
                )
            )

    return asyncio.run(run())


def breaker_shared_by_workers(
    env: dict[str, str], database_url: str, tmp_path: Path, fake: FaultyUpstream
) -> None:
    _, _, key = seed(database_url, SERVER_SECRET.encode(), daily_limit=None)
    env = {**env, **BREAKER, "WMGW_SERVER_SECRET": SERVER_SECRET, "WMGW_DATA_DIR": str(tmp_path)}
    env["WMGW_BREAKER_COOL_DOWN_SECONDS"] = "6"
    env["WMGW_ANTHROPIC_BASE_URL"] = str(fake.base_url)
    with gunicorn_gateway(env, tmp_path, workers=3) as served:
        fake.script("overloaded", "overloaded", "overloaded")
        opened = time.monotonic()  # at most: the third failure opens it a little later
        for response in concurrently(served.url, key, 3):
            assert response.status_code == 503
        time.sleep(1.2)  # what each worker last read of the breaker is at most 1 s old
        refused = concurrently(served.url, key, 12)
        assert {r.json()["error"]["code"] for r in refused} == {"circuit_open"}
        assert len(fake.requests) == 3

        # The cool-down (6 s, long enough for the refusals above even on a loaded machine):
        # then one request of many probes, the others still skip.
        time.sleep(max(0.0, opened + 6.1 - time.monotonic()))
        fake.script("slow_ok")
        answers = concurrently(served.url, key, 12)
        assert sorted(r.status_code for r in answers) == [200] + [503] * 11
        assert len(fake.requests) == 4

        time.sleep(1.2)
        fake.script(*["ok"] * 6)
        assert {r.status_code for r in concurrently(served.url, key, 6)} == {200}


@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
def test_three_workers_share_one_breaker_on_postgres(
    database_url: str, tmp_path: Path, fake: FaultyUpstream
) -> None:
    breaker_shared_by_workers({"DATABASE_URL": database_url}, database_url, tmp_path, fake)


@pytest.mark.skipif(redis_bin() is None, reason="redis-server is not installed")
def test_three_workers_share_one_breaker_through_redis(
    redis_server: str, migrated_template: Path, tmp_path: Path, fake: FaultyUpstream
) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    breaker_shared_by_workers({"REDIS_URL": redis_server}, database_url, tmp_path, fake)
