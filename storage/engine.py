"""Database engines: SQLite file by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept the usual spellings and pick the asyncio drivers."""
    parsed = make_url(url)
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+psycopg",
        "postgres": "postgresql+psycopg",
    }
    name = driver.get(parsed.drivername, parsed.drivername)
    if name == "postgresql+psycopg2":
        name = "postgresql+psycopg"
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a blocking driver, for Alembic."""
    parsed = make_url(async_url(url))
    name = {"sqlite+aiosqlite": "sqlite"}.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes concurrent writers from other
    # workers wait instead of failing; NORMAL sync is durable across application crashes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL is kept in the file: set it only when it is not, since switching (even to the mode
    # in force) needs a lock that another process's transaction may hold, and does not wait.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    ensure_sqlite_dir(url)
    if is_sqlite(url):
        engine = create_async_engine(url, pool_size=8, max_overflow=8)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
