"""SQLite's WAL copied back into the database file now and then, where no commit waits for it.

By default SQLite checkpoints inside the commit that fills the WAL past 1,000 pages: that
commit copies pages and syncs the file, milliseconds to tens of milliseconds, and on the
metering writer every request queued behind it waited as long (the slowest answers under
load). The metering's connections turn that off; this runs a PASSIVE checkpoint (it never
waits for readers or writers) every EVERY commits, on a thread and a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

from sqlalchemy.engine import make_url

EVERY = 1000
log = logging.getLogger("wmgw.storage")


def no_autocheckpoint(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Checkpoints:
    def __init__(self, sync_url: str, every: int = EVERY) -> None:
        self.path = make_url(sync_url).database or ""
        self.every = every
        self.commits = 0
        self.last: tuple[int, int, int] | None = None  # SQLite's (busy, WAL frames, copied)
        self._running: asyncio.Task[None] | None = None

    def committed(self, count: int = 1) -> None:
        """Count commits made on the loop's behalf; start a checkpoint when one is due."""
        self.commits += count
        if self.commits >= self.every and self._running is None:
            self.commits = 0
            self._running = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(self._run)
        except Exception:  # noqa: BLE001 - the next one will try again
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._running = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.last = (busy, frames, copied)
        finally:
            conn.close()

    async def aclose(self) -> None:
        if self._running is not None:
            with contextlib.suppress(Exception):
                await self._running
