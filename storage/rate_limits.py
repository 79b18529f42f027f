"""Rate-limit buckets in the database (domain/ratelimit.py), one row per key and unit.

A decision is one conditional UPDATE, atomic on SQLite and PostgreSQL alike: the units are
taken only while they fit, whatever runs concurrently in this process or another. `take` and
`give_back` are operations for a writer thread (storage/group_commit.py) with statements
compiled once (storage/direct.py); `DatabaseBuckets` runs them there.

The time is the database's own clock on PostgreSQL (`statement_timestamp()`), so gateways on
several hosts judge by one clock. SQLite is a file on one host, and takes that host's clock.
`now_ms` pins the time instead (tests compare the SQL with the domain's arithmetic).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    bindparam,
    cast,
    extract,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from domain.ratelimit import (
    HORIZON_MS,
    PERIOD_MS,
    Bucket,
    Decision,
    Reservation,
    capacity,
    drained,
    give_back_amounts,
)
from storage.direct import Direct
from storage.engine import is_sqlite
from storage.group_commit import GroupCommit, Operation
from storage.tables import rate_limits as buckets

_THIS_BUCKET = (buckets.c.key_id == bindparam("k")) & (buckets.c.unit == bindparam("u"))


def _int(name: str) -> Any:
    return bindparam(name, type_=BigInteger)


@dataclass(frozen=True, slots=True)
class _Statements:
    take: Direct
    peek: Direct
    create: Direct
    give_back: Direct


@cache
def _statements(dialect: str, pinned: bool) -> _Statements:
    greatest, least = (
        (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    )
    now = _int("now") if pinned or dialect != "postgresql" else _database_clock()
    limit = _int("limit")
    zero: Any = literal_column("0")
    horizon: Any = literal_column(str(HORIZON_MS))

    def drain(backlog: Any, at_ms: Any) -> ColumnElement[Any]:
        elapsed = greatest(least(now - at_ms, horizon), zero)
        return greatest(backlog - elapsed * limit, zero)

    level = drain(buckets.c.backlog, buckets.c.at_ms)
    later = greatest(buckets.c.at_ms, now)
    take = (
        update(buckets)
        .where(_THIS_BUCKET, level + _int("cost") <= _int("capacity"))
        .values(backlog=level + _int("cost"), at_ms=later)
        .returning(buckets.c.backlog, buckets.c.at_ms)
    )
    own = least(
        drain(_int("own_backlog"), _int("own_at")), drain(_int("own_units"), _int("own_at"))
    )
    give_back = (
        update(buckets)
        .where(_THIS_BUCKET)
        .values(backlog=greatest(level - least(_int("unused"), own), zero) + _int("extra"))
        .values(at_ms=later)
    )
    peek = select(buckets.c.backlog, buckets.c.at_ms, now).where(_THIS_BUCKET)
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(buckets)
    create = insert.values(
        key_id=bindparam("k"), unit=bindparam("u"), backlog=zero, at_ms=now
    ).on_conflict_do_nothing()
    return _Statements(Direct(take), Direct(peek), Direct(create), Direct(give_back))


def _database_clock() -> ColumnElement[Any]:
    """PostgreSQL's time in unix ms, fixed for the whole statement."""
    epoch = extract("epoch", func.statement_timestamp())
    return cast(func.floor(epoch * literal_column("1000")), BigInteger)


def _values(conn: Connection, now_ms: int | None, **values: Any) -> tuple[_Statements, dict]:
    pinned = now_ms is not None
    statements = _statements(conn.dialect.name, pinned)
    if pinned or conn.dialect.name != "postgresql":
        values["now"] = now_ms if pinned else time.time_ns() // 1_000_000
    return statements, values


def take(
    conn: Connection, key_id: str, unit: str, limit: int, cost: int, now_ms: int | None = None
) -> Decision:
    """Take `cost` units if they fit. Refused, it reports the bucket as it stands."""
    statements, values = _values(conn, now_ms, k=key_id, u=unit, limit=limit, cost=cost * PERIOD_MS)
    values["capacity"] = capacity(limit)
    row = statements.take.execute(conn, values).fetchone()
    if row is not None:
        return Decision(True, Bucket(row[0], row[1]))
    seen = statements.peek.execute(conn, values).fetchone()
    if seen is None:  # the key's first decision: create its bucket (or find another's) and retry
        statements.create.execute(conn, values)
        row = statements.take.execute(conn, values).fetchone()
        if row is not None:
            return Decision(True, Bucket(row[0], row[1]))
        seen = statements.peek.execute(conn, values).fetchone()
    backlog, at_ms, now = seen
    return Decision(False, drained(Bucket(backlog, at_ms), now, limit))


def give_back(
    conn: Connection,
    key_id: str,
    unit: str,
    limit: int,
    reservation: Reservation,
    used: int,
    now_ms: int | None = None,
) -> None:
    """Correct a reservation to what was used (domain.ratelimit.give_back)."""
    unused, extra = give_back_amounts(reservation.units, used)
    if not unused and not extra:
        return
    statements, values = _values(
        conn,
        now_ms,
        k=key_id,
        u=unit,
        limit=limit,
        own_backlog=reservation.bucket.backlog,
        own_at=reservation.bucket.at_ms,
        own_units=reservation.units * PERIOD_MS,
        unused=unused,
        extra=extra,
    )
    statements.give_back.execute(conn, values)


def bucket(conn: Connection, key_id: str, unit: str) -> Bucket | None:
    """The stored bucket, as it was last written."""
    row = conn.execute(
        select(buckets.c.backlog, buckets.c.at_ms).where(
            buckets.c.key_id == key_id, buckets.c.unit == unit
        )
    ).first()
    return Bucket(row[0], row[1]) if row else None


def lock_order(operation: Operation) -> tuple[str, str]:
    """The bucket a take or give-back locks, for a writer of their own (GroupCommit's
    `lock_order`): on PostgreSQL, batches of several workers that locked buckets in arrival
    order deadlocked under load (many keys at once), each waiting for another's row."""
    keywords = getattr(operation, "keywords", {})
    return keywords["key_id"], keywords["unit"]


class DatabaseBuckets:
    """The buckets in the gateway's database, decided on a writer thread: the metering's own
    on SQLite (one file, one writer per process), one of their own in lock order on PostgreSQL
    (so that no batch holds a bucket while it waits for a workspace's quota row, or the
    reverse)."""

    def __init__(self, writer: GroupCommit, owns_writer: bool = False) -> None:
        self.writer = writer
        self.owns_writer = owns_writer

    @classmethod
    def for_database(cls, database_url: str, metering_writer: GroupCommit) -> DatabaseBuckets:
        if is_sqlite(database_url):
            return cls(metering_writer)
        return cls(GroupCommit(database_url, lock_order=lock_order), owns_writer=True)

    async def take(self, key_id: str, unit: str, limit: int, cost: int) -> Decision:
        return await self.writer.run(
            partial(take, key_id=key_id, unit=unit, limit=limit, cost=cost)
        )

    async def give_back(
        self, key_id: str, unit: str, limit: int, reservation: Reservation, used: int
    ) -> None:
        operation = partial(
            give_back, key_id=key_id, unit=unit, limit=limit, reservation=reservation, used=used
        )
        await self.writer.run(operation)

    async def aclose(self) -> None:
        if self.owns_writer:  # else it is the meter's, closed with it
            await self.writer.aclose()
