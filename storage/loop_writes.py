"""SQLite writes on the event loop, when they cannot wait: a transaction that takes SQLite's
write lock at once or not at all.

A metering write handed to the writer thread (storage/group_commit.py) costs two wake-ups
(the thread, then the loop) that on a quiet worker cost more CPU than the statements, and its
latency is the thread's. SQLite's statements themselves take tens of microseconds: they are
CPU, like parsing a request, as long as nothing makes them wait. So a write is first tried
here with `busy_timeout=0` (another process holding the write lock makes it fail at once,
and it goes to the writer thread, which waits) and with no automatic checkpoint (which would
copy pages and sync the file on the loop): the writer thread checkpoints instead, every
CHECKPOINT_EVERY commits made here. In WAL mode with `synchronous=NORMAL` a commit does not
sync the file. An operation is a plain function of a Connection with no effect outside the
database, so one that failed here for the lock runs again from the start on the thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from storage.checkpoints import no_autocheckpoint


class Busy(Exception):
    """Another process holds SQLite's write lock: the write goes to the writer thread."""


def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
    # The database is in WAL mode already (a persistent setting, made by the writer and the
    # migrations): switching to it again would need a lock, and this connection waits for none.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    no_autocheckpoint(dbapi_connection)
    dbapi_connection.isolation_level = None  # transactions begun below, IMMEDIATE


def loop_engine(sync_url: str) -> Engine:
    engine = create_engine(sync_url, pool_size=1, max_overflow=0)
    event.listen(engine, "connect", _no_waiting)
    return engine


class LoopWrites:
    """Runs an operation in its own transaction on the calling thread (the event loop), or
    raises Busy without waiting."""

    def __init__(self, sync_url: str) -> None:
        self.engine = loop_engine(sync_url)
        self._conn: Connection | None = None

    def run(self, operation: Callable[[Connection], Any]) -> Any:
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            result = self._in_transaction(self._conn, operation)
        except (OperationalError, sqlite3.OperationalError) as exc:
            # SQLAlchemy's, or the driver's own from statements run on its cursor.
            if _is_busy(exc):
                raise Busy from exc
            self._drop()
            raise
        except Exception:
            self._drop()
            raise
        return result

    @staticmethod
    def _in_transaction(conn: Connection, operation: Callable[[Connection], Any]) -> Any:
        """BEGIN IMMEDIATE and COMMIT on the driver: through SQLAlchemy's transaction (its
        events, its transaction objects) they cost more CPU than the statements. A statement
        the operation runs through SQLAlchemy makes it begin a transaction of its own, which
        on this driver (in autocommit mode) sends nothing; ending it ends ours."""
        driver = conn.connection.dbapi_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE")
        try:
            result = operation(conn)
            conn.commit() if conn.in_transaction() else driver.commit()
        except BaseException:
            conn.rollback() if conn.in_transaction() else driver.rollback()
            raise
        return result

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # already broken; the pool replaces it
                conn.close()

    def close(self) -> None:
        self._drop()
        self.engine.dispose()


def _is_busy(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", None) or exc).lower()
    return "locked" in message or "busy" in message
