"""Run Alembic migrations programmatically (used by `wmgw migrate` and at `make run`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from storage.engine import ensure_sqlite_dir, is_sqlite, sync_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_dir(sync_url(database_url))
    command.upgrade(alembic_config(database_url), revision)
    if is_sqlite(database_url):
        _write_ahead_log(sync_url(database_url))


def _write_ahead_log(url: str) -> None:
    """SQLite's WAL mode is kept in the file: set it once here, while nothing else runs, so a
    gateway never has to switch to it (which takes a lock that cannot be waited for)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        engine.dispose()


def head_revision() -> str:
    """The schema revision this version of the code migrates to."""
    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())
