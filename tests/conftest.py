"""Fixtures: a real gateway on a loopback port, its database, and fake upstreams.

`gateway` gives a running gateway (echo model and the fake OpenAI upstream configured) with a
user, a workspace on an unlimited plan and a developer key. `start_gateway(...)` starts one with
other options (a daily limit, extra environment); `videos` is one whose video worker polls fast.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys
from gateway.settings import Settings
from storage import accounts, usage
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.cli_runner import Wmgw
from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH, ErrorAnswers
from tests.services.postgres import local_postgres
from tests.services.redis import local_redis
from tests.videos_helpers import FAST
from web.app import create_app

pytest_plugins = [
    "tests.leak_watch",  # no secret of the run in any log (tests/leak_watch.py)
    "tests.fake_openai_upstream_helpers",  # fixtures of tests/test_fake_openai_upstream_*.py
]

T = TypeVar("T")
WMGW = Path(sys.executable).parent / "wmgw"
UPSTREAM_KEY = "sk-upstream-test-key"
SERVER_SECRET = "test-server-secret-0123456789abcdef"
GEMINI_KEY = "AIza-gemini-upstream-test-key"
FETCH_ALLOW = "127.0.0.1/32"  # the fakes serve their image links on loopback
WATCH.remember(SERVER_SECRET, UPSTREAM_KEY, GEMINI_KEY)


def run_db(database_url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run storage functions against the gateway's database from a test."""

    async def go() -> T:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@dataclass
class Gateway:
    base_url: str  # .../api/openai/v1
    key: str
    settings: Settings
    user_id: str
    workspace_id: str
    extra_keys: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/api/openai/v1")

    def client(self, key: str | None = None, **options: Any) -> openai.OpenAI:
        options.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.base_url, api_key=key or self.key, **options)

    def async_client(self, key: str | None = None, **options: Any) -> openai.AsyncOpenAI:
        options.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=key or self.key, **options)

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def db(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        return run_db(self.settings.database_url, work)

    def ledger(self) -> list[dict[str, Any]]:
        return self.db(usage.ledger_rows)

    def new_key(self, user_id: str | None = None, **options: Any) -> str:
        new = keys.generate(self.settings.server_secret)

        async def create(conn: AsyncConnection) -> None:
            await accounts.create_key(
                conn,
                key_id=new.key_id,
                user_id=user_id or self.user_id,
                secret_hash=new.secret_hash,
                name=options.get("name"),
                expires_at=options.get("expires_at"),
                rpm_limit=options.get("rpm_limit"),
                tpm_limit=options.get("tpm_limit"),
            )

        self.db(create)
        WATCH.remember_key(new.plaintext)
        return new.plaintext


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "gateway.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAIUpstream]:
    fake = FakeOpenAIUpstream(api_key=UPSTREAM_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAIUpstream) -> FakeOpenAIUpstream:
    fake_openai_server.reset()
    fake_openai_server.api_key = UPSTREAM_KEY
    return fake_openai_server


def seed(database_url: str, server_secret: bytes, daily_limit: int | None) -> tuple[str, str, str]:
    """A plan, a workspace on it, a user in it with a key: (user id, workspace id, key)."""
    new = keys.generate(server_secret)
    WATCH.remember_key(new.plaintext)

    async def work(conn: AsyncConnection) -> tuple[str, str, str]:
        await accounts.create_plan(conn, "team", daily_limit)
        workspace_id = await accounts.create_workspace(conn, "Test", "team")
        user_id = await accounts.create_user(conn, "dev@example.com", "Dev")
        await accounts.add_member(conn, user_id, workspace_id, "owner")
        await accounts.create_key(
            conn,
            key_id=new.key_id,
            user_id=user_id,
            secret_hash=new.secret_hash,
            name="test",
            expires_at=None,
        )
        return user_id, workspace_id, new.plaintext

    return run_db(database_url, work)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds or `timeout` passes: for what happens after a response."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@contextmanager
def running_gateway(
    data_dir: Path,
    migrated_template: Path,
    fake_openai: FakeOpenAIUpstream,
    daily_limit: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Gateway]:
    """A gateway on a loopback port with its data in `data_dir` (a new directory), for as long
    as the `with` block: for fixtures that share one gateway across a module."""
    data_dir.mkdir()
    shutil.copy(migrated_template, data_dir / "gateway.db")
    environ = {
        "WMGW_DATA_DIR": str(data_dir),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        # Tests script one upstream answer per call: the gateway's own retries would take the
        # next. tests/test_fault_injection.py and test_circuit_breakers.py exercise retries
        # and breakers.
        "WMGW_RETRIES": "0",
        "WMGW_OPENAI_API_KEY": UPSTREAM_KEY,
        "WMGW_OPENAI_BASE_URL": f"{fake_openai.base_url}/v1",
        "WMGW_FETCH_ALLOW": FETCH_ALLOW,
        **(env or {}),
    }
    WATCH.remember_environment(environ)
    settings = Settings.from_env(environ)
    user_id, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit)
    with serve_asgi(ErrorAnswers(create_app(settings), WATCH)) as url:
        yield Gateway(f"{url}/api/openai/v1", key, settings, user_id, workspace_id)


@pytest.fixture
def start_gateway(
    tmp_path: Path, migrated_template: Path, fake_openai: FakeOpenAIUpstream
) -> Iterator[Callable[..., Gateway]]:
    with ExitStack() as stack:

        def start(daily_limit: int | None = None, env: dict[str, str] | None = None) -> Gateway:
            data_dir = tmp_path / f"data{len(stack._exit_callbacks)}"
            return stack.enter_context(
                running_gateway(data_dir, migrated_template, fake_openai, daily_limit, env)
            )

        yield start


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway()


@pytest.fixture(scope="module")
def module_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_template: Path,
    fake_openai_server: FakeOpenAIUpstream,
) -> Iterator[Gateway]:
    """One gateway for a whole test module (for modules whose tests only read from it)."""
    data_dir = tmp_path_factory.mktemp("module-gateway") / "data"
    with running_gateway(data_dir, migrated_template, fake_openai_server) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[FakeGeminiUpstream]:
    fake = FakeGeminiUpstream(api_key=GEMINI_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake_gemini(gemini_server: FakeGeminiUpstream) -> FakeGeminiUpstream:
    gemini_server.reset()
    gemini_server.api_key = GEMINI_KEY
    return gemini_server


@pytest.fixture
def gemini_gateway(
    start_gateway: Callable[..., Gateway], fake_gemini: FakeGeminiUpstream
) -> Gateway:
    """A gateway whose `google` provider is the fake Gemini upstream."""
    assert fake_gemini.base_url
    env = {"WMGW_GEMINI_API_KEY": GEMINI_KEY, "WMGW_GEMINI_BASE_URL": fake_gemini.base_url}
    return start_gateway(env=env)


@pytest.fixture
def videos(start_gateway: Callable[..., Gateway]) -> Gateway:
    """A gateway whose video worker polls fast, for the video API tests (tests/test_videos_*.py)."""
    return start_gateway(env=FAST)


@pytest.fixture
def wmgw(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `wmgw` on a fresh data dir: `wmgw("plan", "list")` is its output; `wmgw.env` is the
    environment it runs with (tests/cli_runner.py runs the console script's commands in-process;
    tests/test_cli.py runs the script itself)."""
    env = {**os.environ, "WMGW_DATA_DIR": str(tmp_path), "WMGW_SERVER_SECRET": "cli-secret"}
    env.pop("DATABASE_URL", None)
    WATCH.remember(env["WMGW_SERVER_SECRET"])

    def run(*args: str, ok: bool = True) -> str:
        # In-process (Click's runner) on settings read from `env` as it stands now: as a shell
        # would run it, without a second of interpreter start-up per command.
        done = Wmgw(Settings.from_env(env)).run(*args)
        assert (done.exit_code == 0) == ok, done.output
        return done.stdout.strip()

    run.env = env  # type: ignore[attr-defined]
    run.env_database_url = lambda: Settings.from_env(env).database_url  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL server on loopback (tests/services/postgres.py)."""
    with local_postgres() as url:
        yield url


@pytest.fixture
def database_url(postgres_server: str) -> str:
    """A fresh, migrated PostgreSQL database."""
    name = f"t_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private Redis server on loopback (tests/services/redis.py): its URL."""
    with local_redis() as url:
        yield url
