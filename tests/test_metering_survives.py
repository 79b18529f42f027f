"""Nothing is lost when a process stops or dies: the gateway run as `make serve` runs it
(gunicorn, four worker processes) and as `make run` runs it (one uvicorn process), on SQLite
and on PostgreSQL, with streams cut by `kill -9` of a worker or outliving a graceful stop.
Afterwards no reservation is left, every admitted request has one ledger row, and each day's
used messages equal the ledger's sum."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway.settings import Settings
from storage import accounts, quota, reservations, usage
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.leak_watch import WATCH
from tests.services.gunicorn import gunicorn_gateway
from tests.services.postgres import server_bin

FAST_LEASES = {"WMGW_RESERVATION_LEASE_SECONDS": "2", "WMGW_DRAIN_SECONDS": "2"}
WORKER = "web.worker.GatewayWorker"
STREAMS = 20
STREAM = {
    "model": "openai/gpt-5-mini",
    "messages": [{"role": "user", "content": "tell me a long story"}],
    "stream": True,
}


@dataclass
class Stream:
    """One streamed request as its client saw it."""

    first: threading.Event = field(default_factory=threading.Event)
    lines: list[str] = field(default_factory=list)
    failed: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def read_stream(url: str, key: str, seen: Stream) -> None:
    try:
        with httpx.stream(
            "POST", url, json=STREAM, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as response:
            for line in response.iter_lines():
                if line:
                    seen.lines.append(line)
                    seen.first.set()
    except httpx.HTTPError as exc:
        seen.failed = type(exc).__name__
    finally:
        seen.first.set()


@dataclass
class Setup:
    env: dict[str, str]
    database_url: str
    workspace_id: str
    key: str


def setup(data_dir: Path, fake: FakeOpenAIUpstream, database_url: str | None) -> Setup:
    env = {
        "WMGW_DATA_DIR": str(data_dir),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_OPENAI_API_KEY": UPSTREAM_KEY,
        "WMGW_OPENAI_BASE_URL": f"{fake.base_url}/v1",
        "WMGW_VIDEO_WORKER": "0",
        **FAST_LEASES,
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = Settings.from_env(env)
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=10_000)
    return Setup(env, settings.database_url, workspace_id, key)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    migrated_template: Path,
    fake_openai: FakeOpenAIUpstream,
) -> Setup:
    if request.param == "sqlite":
        shutil.copy(migrated_template, tmp_path / "gateway.db")
        return setup(tmp_path, fake_openai, None)
    if server_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    return setup(tmp_path, fake_openai, request.getfixturevalue("database_url"))


def long_streams(fake: FakeOpenAIUpstream, count: int, seconds: float) -> None:
    chunks = [f"word{i} " for i in range(40)]
    for _ in range(count):
        fake.reply("".join(chunks), chunks=chunks, chunk_delay=seconds / len(chunks))


@contextmanager
def streaming(url: str, key: str, count: int) -> Iterator[list[Stream]]:
    """`count` streams under way (each has its first chunk) while the block runs; on exit,
    every stream has ended."""
    streams = [Stream() for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        for seen in streams:
            pool.submit(read_stream, f"{url}/api/openai/v1/chat/completions", key, seen)
        for seen in streams:
            assert seen.first.wait(30)
        yield streams


def books_balance(database_url: str, workspace_id: str) -> bool:
    """No reservation left, and the day's used messages equal the ledger's sum."""
    counters = run_db(database_url, lambda conn: quota.counters(conn, workspace_id, "messages"))
    in_flight = run_db(database_url, reservations.in_flight)
    rows = run_db(database_url, usage.ledger_rows)
    used = sum(counter["used"] for counter in counters)
    reserved = sum(counter["reserved"] for counter in counters)
    return not in_flight and reserved == 0 and used == sum(row["messages"] for row in rows)


def ledger_by_request(database_url: str) -> dict[str, dict[str, object]]:
    rows = run_db(database_url, usage.ledger_rows)
    by_id = {str(row["request_id"]): row for row in rows}
    assert len(by_id) == len(rows)  # one row per request, never two
    return by_id


def test_kill_9_of_a_worker_mid_stream_leaves_no_reservation_and_a_row_per_request(
    backend: Setup, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    long_streams(fake_openai, STREAMS, seconds=6)
    with gunicorn_gateway(backend.env, tmp_path, workers=4, worker_class=WORKER) as served:
        with streaming(served.url, backend.key, STREAMS) as streams:
            victim = served.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
        cut = [s for s in streams if "[DONE]" not in s.text]
        assert cut and len(cut) < STREAMS  # the victim's streams broke, the others finished
        # The sweep of another process settles the dead one's requests once their leases end.
        assert wait_for(lambda: books_balance(backend.database_url, backend.workspace_id), 30)
    rows = ledger_by_request(backend.database_url)
    assert len(rows) == STREAMS
    statuses = sorted(str(row["status"]) for row in rows.values())
    assert statuses.count("abandoned") == len(cut)
    assert statuses.count("completed") == STREAMS - len(cut)


def test_a_graceful_stop_ends_long_streams_with_an_error_event_and_settles_them(
    backend: Setup, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    """gunicorn's graceful timeout (5 s) is shorter than the streams (20 s): at the gateway's
    drain deadline (2 s) each stream is ended, settled for what it produced, and told."""
    long_streams(fake_openai, 8, seconds=20)
    with (
        gunicorn_gateway(
            backend.env, tmp_path, workers=4, worker_class=WORKER, graceful_timeout=5
        ) as served,
        streaming(served.url, backend.key, 8) as streams,
    ):
        assert served.stop(signal.SIGTERM, timeout=15) == 0
    for seen in streams:
        assert "server_shutting_down" in seen.text and "[DONE]" not in seen.text
    assert books_balance(backend.database_url, backend.workspace_id)
    rows = ledger_by_request(backend.database_url)
    assert [row["status"] for row in rows.values()] == ["shutdown"] * 8
    assert all(int(row["messages"]) >= 1 for row in rows.values())  # output was delivered


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_make_run_stopped_past_its_grace_ends_streams_with_an_error_event(
    backend: Setup, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    """One uvicorn process, as `make run` starts it, stopped with SIGTERM."""
    long_streams(fake_openai, 4, seconds=20)
    port = _free_port()
    uvicorn = Path(sys.executable).parent / "uvicorn"
    command = [
        str(uvicorn), "--factory", "web.app:create_app_from_env",
        "--port", str(port), "--timeout-graceful-shutdown", "5", "--no-access-log",
    ]  # fmt: skip
    log = (tmp_path / "uvicorn.log").open("wb")
    WATCH.watch_file(tmp_path / "uvicorn.log")
    WATCH.remember_environment(backend.env)
    server = subprocess.Popen(
        command, env={**os.environ, **backend.env}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _listening(port), 30)
        with streaming(url, backend.key, 4) as streams:
            server.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once it has shut down gracefully.
            assert server.wait(15) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    for seen in streams:
        assert "server_shutting_down" in seen.text
    assert books_balance(backend.database_url, backend.workspace_id)
    assert len(ledger_by_request(backend.database_url)) == 4


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_thousand_concurrent_requests_for_the_last_message_admit_exactly_one(
    backend: Setup, tmp_path: Path
) -> None:
    """Four worker processes share the database; the workspace has one message left."""
    env = {**backend.env, "WMGW_KEY_CACHE_SECONDS": "0"}  # the new limit at once
    with gunicorn_gateway(env, tmp_path, workers=4, worker_class=WORKER) as served:
        url = f"{served.url}/api/openai/v1/chat/completions"
        auth = {"Authorization": f"Bearer {backend.key}"}
        echo = {"model": "writingmate/echo", "messages": [{"role": "user", "content": "hi"}]}
        _set_limit(backend, 5)
        for _ in range(4):  # four of the day's five messages used
            assert httpx.post(url, json=echo, headers=auth).status_code == 200
        statuses = asyncio.run(_burst(url, auth, echo, 1000))
    assert statuses.count(200) == 1 and statuses.count(429) == 999
    assert books_balance(backend.database_url, backend.workspace_id)
    counters = run_db(
        backend.database_url, lambda conn: quota.counters(conn, backend.workspace_id, "messages")
    )
    assert [(c["used"], c["reserved"]) for c in counters] == [(5, 0)]


def _set_limit(backend: Setup, limit: int) -> None:
    run_db(backend.database_url, lambda conn: accounts.set_plan_limit(conn, "team", limit))


async def _burst(
    url: str, headers: dict[str, str], body: dict[str, object], count: int
) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        answers = await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(count))
        )
    return [answer.status_code for answer in answers]
