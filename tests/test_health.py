"""The probes of ops.yaml: `/healthz` says the process answers, `/readyz` that its database
answers at the schema this release needs; both at the server's root, without a key, with an
`x-request-id`, and every failure in OpenAI's error envelope naming what is wrong."""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy
import yaml
from alembic.script import ScriptDirectory
from openapi_spec_validator import validate

from domain.errors import ServiceUnavailable
from gateway.settings import REPO_ROOT, Settings
from storage.engine import create_engine
from storage.migrate import MIGRATIONS, upgrade
from storage.revisions import Revisions, code_revisions
from tests.conftest import SERVER_SECRET
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH, ErrorAnswers
from tests.services.postgres import server_bin
from usecases import readiness
from web.app import create_app

ENVELOPE = {"message", "type", "param", "code"}
DATABASE_PASSWORD = "pg-password-for-readiness"  # trust authentication lets any through
WATCH.remember(DATABASE_PASSWORD)


def previous_revision() -> str:
    """The migration before this release's newest: a database one upgrade behind."""
    down = ScriptDirectory(str(MIGRATIONS)).get_revision(code_revisions().head).down_revision
    assert isinstance(down, str)
    return down


@contextmanager
def served(data_dir: Path, database_url: str | None = None) -> Iterator[httpx.Client]:
    env = {"WMGW_DATA_DIR": str(data_dir), "WMGW_SERVER_SECRET": SERVER_SECRET}
    env |= {"WMGW_VALIDATE_RESPONSES": "1"} | (
        {"DATABASE_URL": database_url} if database_url else {}
    )
    app = ErrorAnswers(create_app(Settings.from_env(env)), WATCH)
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def ready(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: Path
) -> Iterator[httpx.Client]:
    """A gateway on a database migrated to this release's newest revision."""
    data_dir = tmp_path_factory.mktemp("ready")
    shutil.copy(migrated_template, data_dir / "gateway.db")
    with served(data_dir) as http:
        yield http


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A gateway on a database one migration behind (the release was deployed, `wmgw
    migrate` not run)."""
    data_dir = tmp_path_factory.mktemp("behind")
    upgrade(f"sqlite:///{data_dir / 'gateway.db'}", previous_revision())
    with served(data_dir) as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == ENVELOPE
    assert (error["type"], error["code"]) == ("server_error", code)
    return str(error["message"])


def test_healthz_answers_ok_without_a_key(ready: httpx.Client) -> None:
    response = ready.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["x-request-id"].startswith("req_")


def test_readyz_answers_ok_on_a_migrated_database(ready: httpx.Client) -> None:
    response = ready.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["x-request-id"].startswith("req_")


def test_the_probes_are_at_the_root_and_the_api_keeps_its_own_paths(ready: httpx.Client) -> None:
    assert ready.get("/api/openai/v1/healthz").status_code == 404
    unauthenticated = ready.get("/api/openai/v1/models")
    assert unauthenticated.json()["error"]["code"] == "invalid_api_key"
    assert ready.get("/api/openai/v1/openapi.json").status_code == 200


def test_readyz_is_503_migrations_pending_when_the_database_is_behind(
    behind: httpx.Client,
) -> None:
    message = assert_error(behind.get("/readyz"), 503, "migrations_pending")
    assert previous_revision() in message and "wmgw migrate" in message
    assert behind.get("/healthz").status_code == 200  # alive: a restart would not help


@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed")
def test_readyz_is_503_database_unreachable_when_postgres_refuses_connections(
    postgres_server: str, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with_password = database_url.replace("postgres@", f"postgres:{DATABASE_PASSWORD}@")
    name = database_url.rsplit("/", 1)[1]
    with served(tmp_path, with_password) as http:
        assert http.get("/readyz").status_code == 200
        with refused_connections(postgres_server, name):
            caplog.set_level(logging.WARNING, logger="wmgw.readiness")
            response = http.get("/readyz")
            assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200  # ready again once it answers
    assert_error(response, 503, "database_unreachable")
    logged = [r.getMessage() for r in caplog.records if r.name == "wmgw.readiness"]
    assert logged and "OperationalError" in logged[0]
    assert DATABASE_PASSWORD not in response.text + "".join(logged)


@contextmanager
def refused_connections(admin_url: str, database: str) -> Iterator[None]:
    """PostgreSQL refuses new connections to `database` and ends the open ones."""
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    statements = (
        f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false',
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",
    )
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(sqlalchemy.text(statement))
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()


async def test_a_database_that_never_answers_is_unreachable_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        engine = create_engine(f"postgresql://postgres@127.0.0.1:{port}/gateway")
        started = time.monotonic()
        try:
            with pytest.raises(ServiceUnavailable) as raised:
                await readiness.check(engine, code_revisions(), timeout=0.3)
        finally:
            await engine.dispose()
    assert raised.value.code == "database_unreachable"
    assert time.monotonic() - started < 2


async def test_a_database_never_migrated_is_pending(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            await readiness.check(engine, code_revisions())
    finally:
        await engine.dispose()
    assert raised.value.code == "migrations_pending"
    assert "at revision none" in raised.value.message


async def test_a_database_migrated_by_a_newer_release_is_ready(
    migrated_template: Path, tmp_path: Path
) -> None:
    """During a rolling upgrade the new release migrates first; the old one keeps serving."""
    newest = code_revisions()
    older_release = Revisions(previous_revision(), newest.known - {newest.head})
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    engine = create_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        await readiness.check(engine, older_release)
    finally:
        await engine.dispose()


def test_ops_yaml_is_a_valid_openapi_31_document_without_security() -> None:
    document = yaml.safe_load((REPO_ROOT / "ops.yaml").read_text())
    validate(document)
    assert document["openapi"].startswith("3.1") and document["security"] == []
    assert {"/healthz", "/readyz"} <= set(document["paths"])
