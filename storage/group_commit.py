"""Group commit: the metering writes of concurrent requests run together, in one transaction,
on one thread with a blocking driver.

Measured (bench/micro.py): one reserve + settle through the async engine and aiosqlite cost
about 4-5 ms of CPU (18 hops between the event loop and aiosqlite's thread, statements rebuilt
each call), and 16 pooled connections fighting for SQLite's one write lock gave p99s near a
second. Here each batch is one hop to a single writer thread and one commit, statements are
built once, and a process never contends with itself for the write lock. Under load, the
operations queued while a batch commits form the next batch, so no request waits for a timer.

Each operation is a plain function of a Connection. A batch whose commit fails is retried one
operation at a time, so one bad operation fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from storage.checkpoints import Checkpoints, no_autocheckpoint
from storage.engine import ensure_sqlite_dir, is_sqlite, sqlite_pragmas, sync_url
from storage.loop_writes import Busy, LoopWrites

T = TypeVar("T")
Operation = Callable[[Connection], Any]
Outcome = tuple[bool, Any]  # (succeeded, result or exception)

MAX_BATCH = 256
LOOP_WRITES_UP_TO = 2  # requests in flight (measured: bench at concurrency 1 against 16)
Batch = tuple[list[Operation], asyncio.AbstractEventLoop, asyncio.Future[list[Outcome]]]


def writer_engine(database_url: str) -> Engine:
    url = sync_url(database_url)
    ensure_sqlite_dir(url)
    if is_sqlite(url):
        engine = create_engine(url, pool_size=1, max_overflow=0)
        event.listen(engine, "connect", sqlite_pragmas)
        event.listen(engine, "connect", lambda dbapi, _record: no_autocheckpoint(dbapi))
        return engine
    return create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)


class GroupCommit:
    """Batches run on one writer thread, handed over through a SimpleQueue: less than half the
    CPU of `run_in_executor` per hop (bench/micro.py), and every request makes two hops."""

    def __init__(
        self,
        database_url: str,
        lock_order: Callable[[Operation], Any] | None = None,
        prepare: Callable[[Connection, list[Operation]], None] | None = None,
    ) -> None:
        self.engine = writer_engine(database_url)
        # SQLite: a write is first tried on the loop itself (storage/loop_writes.py) while few
        # requests are in flight; with more, batches on the thread cost less per request
        # (one commit for many). The meter says how many there are.
        self.requests_in_flight: Callable[[], int] = lambda: 0
        url = sync_url(database_url)
        self.loop_writes = LoopWrites(url) if is_sqlite(url) and not lock_order else None
        self.checkpoints = Checkpoints(url) if is_sqlite(url) else None
        # With `prepare`, each batch's transaction starts with it (e.g. locking every row the
        # batch will change, in one global order, when its operations each lock several).
        self.prepare = prepare
        # With `lock_order`, a batch runs its operations sorted by it: batches of several
        # processes that lock rows in one order never wait for each other in a cycle.
        self.lock_order = lock_order
        self._batches: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first operation
        self._queue: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._conn: Connection | None = None  # the writer thread's own

    async def run(self, operation: Callable[[Connection], T]) -> T:
        """Run `operation` in the next committed batch and return its result."""
        if (
            self.loop_writes is not None
            and not self._queue
            and self._draining is None
            and (self.requests_in_flight() <= LOOP_WRITES_UP_TO)
        ):
            try:
                result: T = self.loop_writes.run(operation)
            except Busy:
                pass  # another process writes: wait for it on the writer thread
            else:
                self._committed(1)
                return result
        return await self._batched(operation)

    def _committed(self, count: int) -> None:
        if self.checkpoints is not None:
            self.checkpoints.committed(count)

    async def _batched(self, operation: Callable[[Connection], T]) -> T:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, name="wmgw-writer", daemon=True)
            self._writer.start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, future))
        if self._draining is None:
            self._draining = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                committed: asyncio.Future[list[Outcome]] = loop.create_future()
                self._batches.put(([operation for operation, _ in batch], loop, committed))
                outcomes = await committed
                self._committed(1)
                for (_, future), (succeeded, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if succeeded:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._draining = None

    def _write(self) -> None:
        """The writer thread: commit batches until told to stop, then close the connection
        here (SQLite refuses use from another thread)."""
        while (batch := self._batches.get()) is not None:
            operations, loop, committed = batch
            outcomes = self._commit(operations)
            loop.call_soon_threadsafe(_resolve, committed, outcomes)
        self._drop_connection()
        self.engine.dispose()

    def _commit(self, operations: list[Operation]) -> list[Outcome]:
        # The writer keeps one connection: checking it out of the pool and back for every
        # batch cost as much CPU as the batch's statements. After a failure it takes a fresh
        # one, so a connection the database dropped is not used again.
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            with self._conn.begin():
                if self.prepare is not None:
                    self.prepare(self._conn, operations)
                if self.lock_order is None:
                    return [(True, operation(self._conn)) for operation in operations]
                return self._run_in_lock_order(operations, self._conn)
        except Exception as exc:  # noqa: BLE001 - handed back to the awaiting request
            self._drop_connection()
            if len(operations) == 1:
                return [(False, exc)]
            return [self._commit([operation])[0] for operation in operations]

    def _run_in_lock_order(self, operations: list[Operation], conn: Connection) -> list[Outcome]:
        order = self.lock_order
        assert order is not None
        outcomes: list[Outcome] = [(True, None)] * len(operations)
        for index in sorted(range(len(operations)), key=lambda i: order(operations[i])):
            outcomes[index] = (True, operations[index](conn))
        return outcomes

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # already broken; the pool replaces it
                conn.close()

    async def aclose(self) -> None:
        if self.checkpoints is not None:
            await self.checkpoints.aclose()
        while self._draining is not None:
            await self._draining
        if self.loop_writes is not None:
            self.loop_writes.close()
        if self._writer is None:
            self.engine.dispose()
            return
        self._batches.put(None)
        await asyncio.to_thread(self._writer.join)


def _resolve(committed: asyncio.Future[list[Outcome]], outcomes: list[Outcome]) -> None:
    if not committed.done():  # a drain cancelled at shutdown no longer waits
        committed.set_result(outcomes)
