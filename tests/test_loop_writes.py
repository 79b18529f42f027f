"""SQLite metering writes made on the event loop (storage/loop_writes.py): they never wait for
another process's write lock (the writer thread waits instead, and the request still
succeeds), and the WAL is checkpointed apart from them (storage/checkpoints.py)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy

from storage.checkpoints import Checkpoints
from storage.group_commit import GroupCommit
from storage.loop_writes import Busy, LoopWrites
from tests.conftest import Gateway

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def database(tmp_path: Path, migrated_template: Path) -> Path:
    path = tmp_path / "gateway.db"
    shutil.copy(migrated_template, path)
    return path


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's transaction, holding SQLite's write lock until it commits."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def insert_plan(conn: sqlalchemy.Connection) -> str:
    conn.exec_driver_sql(
        "INSERT INTO plans (name, created_at) VALUES ('loop', '2026-01-01 00:00:00')"
    )
    return "written"


def test_a_write_on_the_loop_does_not_wait_for_another_process(database: Path) -> None:
    writes = LoopWrites(f"sqlite:///{database}")
    other = hold_write_lock(database)
    started = time.perf_counter()
    with pytest.raises(Busy):
        writes.run(insert_plan)
    # It fails at once, instead of waiting out a busy timeout (10 s on the writer's connection);
    # the bound leaves room for a loaded machine opening its first connection.
    assert time.perf_counter() - started < 1.0
    other.execute("ROLLBACK")
    assert writes.run(insert_plan) == "written"
    writes.close()


def test_a_busy_write_goes_to_the_writer_thread_which_waits_for_the_lock(database: Path) -> None:
    writer = GroupCommit(f"sqlite:///{database}")
    other = hold_write_lock(database)
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()

    async def write() -> str:
        try:
            return await writer.run(insert_plan)
        finally:
            await writer.aclose()

    started = time.perf_counter()
    assert asyncio.run(write()) == "written"
    assert time.perf_counter() - started >= 0.25  # it waited for the other's commit


def test_a_request_still_succeeds_while_another_process_holds_the_lock(
    gateway: Gateway,
) -> None:
    path = gateway.settings.database_url.split("///", 1)[1]
    other = hold_write_lock(Path(path))
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    answer = gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
    assert answer.choices[0].message.content == "hi"
    assert len(gateway.ledger()) == 1


def test_the_wal_is_checkpointed_apart_from_the_commits(database: Path) -> None:
    checkpoints = Checkpoints(f"sqlite:///{database}", every=3)
    writes = LoopWrites(f"sqlite:///{database}")

    async def commit_a_few() -> None:
        for n in range(3):
            writes.run(
                lambda conn, n=n: conn.exec_driver_sql(
                    f"INSERT INTO plans (name, created_at) VALUES ('p{n}', '2026-01-01')"
                )
            )
            checkpoints.committed()
        await checkpoints.aclose()

    asyncio.run(commit_a_few())
    writes.close()
    assert checkpoints.last is not None
    busy, frames, copied = checkpoints.last
    assert (busy, copied) == (0, frames) and frames > 0
