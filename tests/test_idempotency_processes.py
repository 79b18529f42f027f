"""`Idempotency-Key` across processes, on PostgreSQL and on the default SQLite file: the
gateway as `make serve` runs it (gunicorn, four worker processes). Retries that land on other
workers wait for the one running the request and are charged once; a retry after the worker
running it was killed runs it again once that worker's lease has run out."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.idempotency import RUNNING, Seen
from storage import idempotency, usage
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.services.gunicorn import Served, gunicorn_gateway
from tests.services.postgres import server_bin

LEASE_SECONDS = 2
BODY = {"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "Hello there"}]}


@dataclass
class Cluster:
    served: Served
    database_url: str
    key: str

    @property
    def url(self) -> str:
        return f"{self.served.url}/api/openai/v1/chat/completions"

    def headers(self, idempotency_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Idempotency-Key": idempotency_key}

    def ledger(self) -> list[dict[str, Any]]:
        return run_db(self.database_url, usage.ledger_rows)

    def row(self, idempotency_key: str) -> Seen | None:
        key_id = self.key.split(".")[1]
        return run_db(
            self.database_url, lambda conn: idempotency.peek(conn, key_id, idempotency_key)
        )


@pytest.fixture(params=["postgresql", "sqlite"])
def cluster(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    migrated_template: Path,
    fake_openai: FakeOpenAIUpstream,
) -> Iterator[Cluster]:
    """Four gunicorn workers sharing PostgreSQL, or the default SQLite file."""
    if request.param == "sqlite":
        shutil.copy(migrated_template, tmp_path / "gateway.db")
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    elif server_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    else:
        database_url = str(request.getfixturevalue("database_url"))
    _, _, key = seed(database_url, SERVER_SECRET.encode(), daily_limit=None)
    env = {
        "DATABASE_URL": database_url,
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_DATA_DIR": str(tmp_path),
        "WMGW_OPENAI_API_KEY": UPSTREAM_KEY,
        "WMGW_OPENAI_BASE_URL": f"{fake_openai.base_url}/v1",
        "WMGW_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS),
        "WMGW_VIDEO_WORKER": "0",
    }
    with gunicorn_gateway(env, tmp_path, workers=4) as served:
        yield Cluster(served, database_url, key)


def workers_holding_connections(served: Served) -> int:
    """How many worker processes hold an open client connection to the gateway's port."""
    port = int(served.url.rsplit(":", 1)[1])
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    holding = 0
    for pid in served.worker_pids():
        fds = Path(f"/proc/{pid}/fd")
        sockets = {os.readlink(fd).removeprefix("socket:[").rstrip("]") for fd in fds.iterdir()}
        holding += bool(sockets & inodes)
    return holding


def test_concurrent_retries_on_different_workers_are_charged_once(
    cluster: Cluster, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Once across workers", delay=2.0)
    key = f"retry-{secrets.token_hex(8)}"

    async def burst() -> tuple[list[httpx.Response], int]:
        async def one() -> httpx.Response:  # a connection of its own, for any worker to take
            async with httpx.AsyncClient(timeout=30) as http:
                return await http.post(cluster.url, json=BODY, headers=cluster.headers(key))

        calls = []
        for _ in range(16):
            calls.append(asyncio.create_task(one()))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        spread = workers_holding_connections(cluster.served)
        return await asyncio.gather(*calls), spread

    answers, spread = asyncio.run(burst())
    assert spread >= 2, "every request landed on one worker: nothing crossed processes"
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 15
    assert len(fake_openai.calls) == 1
    assert len(cluster.ledger()) == 1


def test_a_retry_runs_again_once_the_killed_workers_lease_ran_out(
    cluster: Cluster, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Never delivered", delay=30)
    fake_openai.reply("Second run")
    key = f"retry-{secrets.token_hex(8)}"
    with ThreadPoolExecutor(1) as pool, httpx.Client(timeout=60) as http:
        first = pool.submit(http.post, cluster.url, json=BODY, headers=cluster.headers(key))
        assert wait_for(lambda: len(fake_openai.requests) == 1)  # it runs, upstream
        running = cluster.row(key)
        assert running is not None and running.state == RUNNING and running.owner is not None
        os.kill(int(running.owner.split(":")[0]), signal.SIGKILL)
        with pytest.raises(httpx.TransportError):
            first.result(timeout=10)
    with httpx.Client(timeout=60) as http:
        retry = http.post(cluster.url, json=BODY, headers=cluster.headers(key))
    assert retry.status_code == 200, retry.text
    assert retry.json()["choices"][0]["message"]["content"] == "Second run"
    assert "idempotent-replayed" not in retry.headers
    assert running.lease_until is not None and time.time() * 1000 >= running.lease_until
    assert len(fake_openai.requests) == 2
    assert [row["status"] for row in cluster.ledger()] == ["completed"]
