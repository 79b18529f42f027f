"""Rate limits hold exactly across worker processes: gunicorn with four workers, as
`make serve` runs it, sharing the buckets in PostgreSQL, or in Redis (`REDIS_URL`)."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import httpx
import pytest

from domain import keys
from storage import accounts
from tests.conftest import SERVER_SECRET, run_db, seed
from tests.services.gunicorn import gunicorn_gateway
from tests.services.postgres import server_bin as postgres_bin
from tests.services.redis import server_bin as redis_bin

RPM = 30  # one more request every 2 s once the burst is used
REQUESTS = 200


def key_with_rpm(database_url: str, rpm: int) -> str:
    _, _, first = seed(database_url, SERVER_SECRET.encode(), daily_limit=None)
    new = keys.generate(SERVER_SECRET.encode())

    async def create(conn) -> None:  # type: ignore[no-untyped-def]
        user = (await accounts.key_owner(conn, first.split(".")[1])).user_id  # type: ignore[union-attr]
        await accounts.create_key(
            conn,
            key_id=new.key_id,
            user_id=user,
            secret_hash=new.secret_hash,
            name="limited",
            expires_at=None,
            rpm_limit=rpm,
        )

    run_db(database_url, create)
    return new.plaintext


def burst(url: str, key: str) -> tuple[list[httpx.Response], float]:
    """REQUESTS requests at once; the responses and how long the burst took, in ms."""

    async def run() -> tuple[list[httpx.Response], float]:
        limits = httpx.Limits(max_connections=REQUESTS)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:
            started = time.monotonic()
            responses = await asyncio.gather(
                *(c.get("/api/openai/v1/models") for _ in range(REQUESTS))
            )
            return list(responses), (time.monotonic() - started) * 1000

    return asyncio.run(run())


def assert_exactly_the_limit(responses: list[httpx.Response], elapsed_ms: float) -> None:
    admitted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(admitted) + len(refused) == REQUESTS
    # The burst of RPM, plus one per 2 s the burst itself took (none when it is quick).
    assert RPM <= len(admitted) <= RPM + int(elapsed_ms // (60_000 / RPM))
    assert all(r.json()["error"]["type"] == "rate_limit_error" for r in refused)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    remaining = sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in admitted)
    if len(admitted) == RPM:  # nothing drained meanwhile: each saw a count of its own
        assert remaining == list(range(RPM))


@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
def test_exactly_the_limit_is_admitted_across_four_workers_on_postgres(
    database_url: str, tmp_path: Path
) -> None:
    key = key_with_rpm(database_url, RPM)
    env = {
        "DATABASE_URL": database_url,
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_DATA_DIR": str(tmp_path),
    }
    with gunicorn_gateway(env, tmp_path, workers=4) as served:
        responses, elapsed_ms = burst(served.url, key)
    assert_exactly_the_limit(responses, elapsed_ms)


@pytest.mark.skipif(redis_bin() is None, reason="redis-server is not installed")
def test_exactly_the_limit_is_admitted_across_four_workers_with_redis(
    redis_server: str, migrated_template: Path, tmp_path: Path
) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    key = key_with_rpm(database_url, RPM)
    env = {
        "REDIS_URL": redis_server,
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_DATA_DIR": str(tmp_path),
    }
    with gunicorn_gateway(env, tmp_path, workers=4) as served:
        responses, elapsed_ms = burst(served.url, key)
    assert_exactly_the_limit(responses, elapsed_ms)
