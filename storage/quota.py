"""The one quota store: a counter per subject (a workspace or a pool), unit and period, with
what was used and what requests in flight hold.

Each change is one conditional UPDATE, atomic on SQLite and PostgreSQL alike whatever runs
concurrently in this process or another: a reservation of `n` is granted only while
`used + reserved + n <= limit`. A request that may be lowered and does not fit first locks its
counter (an UPDATE that changes nothing, so that on SQLite the transaction takes the write lock
before it reads), then reserves what is left if that is enough. Hot-path statements are
compiled once and run on the driver's cursor (storage/direct.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import Counter, Hold, Want
from storage.direct import Direct
from storage.tables import quota_counters as qc

_KEY = (
    (qc.c.subject == bindparam("s"))
    & (qc.c.unit == bindparam("u"))
    & (qc.c.period == bindparam("p"))
)
_TOTALS = (qc.c.used, qc.c.reserved)
_ADD = update(qc).where(_KEY).values(reserved=qc.c.reserved + bindparam("n")).returning(*_TOTALS)
_RESERVE = Direct(_ADD)
_RESERVE_WITHIN = Direct(
    _ADD.where(qc.c.used + qc.c.reserved + bindparam("n") <= bindparam("limit"))
)
_LOCK = Direct(update(qc).where(_KEY).values(reserved=qc.c.reserved).returning(*_TOTALS))
_SETTLE_STATEMENT = (
    update(qc)
    .where(_KEY)
    .values(reserved=qc.c.reserved - bindparam("n"), used=qc.c.used + bindparam("used"))
    .returning(*_TOTALS)
)
_SETTLE = Direct(_SETTLE_STATEMENT)
_DRAW = update(qc).where(_KEY).values(used=qc.c.used + bindparam("n")).returning(*_TOTALS)
_NEW = {
    name: dialect.insert(qc)
    .values(subject=bindparam("s"), unit=bindparam("u"), period=bindparam("p"), used=0, reserved=0)
    .on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_NEW_DIRECT = {name: Direct(statement) for name, statement in _NEW.items()}


def _key(subject: str, unit: str, period: str) -> dict[str, Any]:
    return {"s": subject, "u": unit, "p": period}


def _new(subject: str, unit: str, period: str) -> dict[str, Any]:
    return {**_key(subject, unit, period), "used": 0, "reserved": 0}


def _try(conn: Connection, want: Want, n: int) -> Counter | None:
    params = {**_key(want.subject, want.unit, want.period), "n": n}
    if want.limit is None:
        row = _RESERVE.execute(conn, params).fetchone()
    else:
        row = _RESERVE_WITHIN.execute(conn, {**params, "limit": want.limit}).fetchone()
    return Counter(want.limit, row[0], row[1]) if row else None


def _lowered(conn: Connection, want: Want) -> tuple[Hold, Counter] | None:
    """What is left, when it is at least `want.at_least` (the counter locked first)."""
    assert want.limit is not None  # an unlimited counter never refuses
    row = _LOCK.execute(conn, _key(want.subject, want.unit, want.period)).fetchone()
    if row is None:
        return None
    left = want.limit - row[0] - row[1]
    if left < want.at_least:
        return None
    counter = _try(conn, want, left)
    return (want.granting(left), counter) if counter is not None else None


def reserve(conn: Connection, want: Want) -> tuple[Hold, Counter] | None:
    """Reserve `want.n` units, or what is left when that is at least `want.at_least`; None
    (nothing reserved) when not even that fits."""
    granted = _try(conn, want, want.n)
    if granted is None:
        # No row for this period yet, or too little left. Create the row (a no-op when it
        # exists; it waits for another process inserting it) and ask again: checking whether
        # the row exists instead would race with another process creating it.
        _NEW_DIRECT[conn.dialect.name].execute(conn, _new(want.subject, want.unit, want.period))
        granted = _try(conn, want, want.n)
    if granted is not None:
        return want.granting(want.n), granted
    return _lowered(conn, want) if want.at_least < want.n else None


def read(conn: Connection, want: Want) -> Counter:
    row = conn.execute(
        select(*_TOTALS).where(_KEY), _key(want.subject, want.unit, want.period)
    ).first()
    return Counter(want.limit, row[0], row[1]) if row else Counter(want.limit, 0, 0)


def settle(conn: Connection, hold: Hold, used: int) -> tuple[int, int] | None:
    """Replace a hold with the `used` units it turned into; the counter's (used, reserved)."""
    params = {**_key(hold.subject, hold.unit, hold.period), "n": hold.n, "used": used}
    row = _SETTLE.execute(conn, params).fetchone()
    return (row[0], row[1]) if row else None


async def draw(
    conn: AsyncConnection, subject: str, unit: str, period: str, n: int, limit: int | None
) -> Counter | None:
    """Count `n` units as used at once (no reservation: video seconds when a job is created),
    within `limit`; None and nothing written when they do not fit."""
    params = {**_key(subject, unit, period), "n": n}
    await conn.execute(_NEW[conn.dialect.name], _new(subject, unit, period))
    statement = _DRAW
    if limit is not None:
        statement = _DRAW.where(qc.c.used + qc.c.reserved + bindparam("n") <= bindparam("limit"))
        params["limit"] = limit
    row = (await conn.execute(statement, params)).first()
    return Counter(limit, row[0], row[1]) if row else None


async def give_back(conn: AsyncConnection, subject: str, unit: str, period: str, n: int) -> None:
    """Take `n` units off what was used (a failed video job's seconds)."""
    await conn.execute(_SETTLE_STATEMENT, {**_key(subject, unit, period), "n": 0, "used": -n})


async def counter(
    conn: AsyncConnection, subject: str, unit: str, period: str, limit: int | None
) -> Counter:
    row = (await conn.execute(select(*_TOTALS).where(_KEY), _key(subject, unit, period))).first()
    return Counter(limit, row[0], row[1]) if row else Counter(limit, 0, 0)


async def counters(
    conn: AsyncConnection, subject: str, unit: str | None = None
) -> list[dict[str, Any]]:
    """A subject's counters, oldest period first (for reports and tests)."""
    query = select(qc.c.unit, qc.c.period, qc.c.used, qc.c.reserved).where(qc.c.subject == subject)
    if unit is not None:
        query = query.where(qc.c.unit == unit)
    rows = await conn.execute(query.order_by(qc.c.unit, qc.c.period))
    return [dict(row._mapping) for row in rows]
