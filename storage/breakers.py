"""Circuit breakers in the database, shared by every worker and host (domain/breaker.py has the
rules). Each change is one conditional UPDATE that applies the rule in SQL, atomic on SQLite
and PostgreSQL alike, so two workers failing at once count two failures and two workers
finding the cool-down over claim one probe between them. Times come from the caller (each
host's clock: a few milliseconds apart decide nothing here).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from domain.breaker import BreakerSettings, BreakerState
from storage.tables import circuit_breakers as breakers

_THIS = breakers.c.name == bindparam("n")
_NOW = bindparam("now", type_=BigInteger)
_HALF_OPEN = (breakers.c.open_until > 0) & (breakers.c.open_until <= _NOW)
_OPEN = breakers.c.open_until > _NOW
_RETURNED = (breakers.c.failures, breakers.c.open_until, breakers.c.probe_until)


def _state(row: Sequence[Any]) -> BreakerState:
    return BreakerState(int(row[0]), int(row[1]), int(row[2]))


@cache
def _statements(dialect: str) -> dict[str, object]:
    trips = _HALF_OPEN | (breakers.c.failures + 1 >= bindparam("threshold"))
    insert = (sqlite if dialect == "sqlite" else postgresql).insert(breakers)
    return {
        "create": insert.values(
            name=bindparam("n"), failures=0, open_until=0, probe_until=0
        ).on_conflict_do_nothing(index_elements=["name"]),
        "fail": update(breakers)
        .where(_THIS)
        .values(
            failures=breakers.c.failures + 1,
            open_until=case((trips, _NOW + bindparam("cool")), else_=breakers.c.open_until),
            probe_until=case((trips, 0), else_=breakers.c.probe_until),
        )
        .returning(*_RETURNED),
        "succeed": update(breakers)
        .where(_THIS & ~_OPEN & ((breakers.c.failures > 0) | (breakers.c.open_until > 0)))
        .values(failures=0, open_until=0, probe_until=0)
        .returning(*_RETURNED),
        "probe": update(breakers)
        .where(_THIS & _HALF_OPEN & (breakers.c.probe_until <= _NOW))
        .values(probe_until=_NOW + bindparam("probe"))
        .returning(*_RETURNED),
    }


def _dialect(conn: Connection) -> str:
    return "sqlite" if conn.dialect.name == "sqlite" else "postgresql"


def record_failure(
    conn: Connection, name: str, now_ms: int, settings: BreakerSettings
) -> BreakerState:
    statements = _statements(_dialect(conn))
    conn.execute(statements["create"], {"n": name})  # type: ignore[call-overload]
    row = conn.execute(
        statements["fail"],  # type: ignore[call-overload]
        {
            "n": name,
            "now": now_ms,
            "threshold": settings.failures,
            "cool": int(settings.cool_down * 1000),
        },
    ).one()
    return _state(row)


def record_success(conn: Connection, name: str, now_ms: int) -> BreakerState | None:
    """The state after a success, or None when it changed nothing (closed with no failures, or
    still open: only the probe closes it)."""
    row = conn.execute(
        _statements(_dialect(conn))["succeed"],  # type: ignore[call-overload]
        {"n": name, "now": now_ms},
    ).first()
    return None if row is None else _state(row)


def claim_probe(
    conn: Connection, name: str, now_ms: int, settings: BreakerSettings
) -> BreakerState | None:
    """The state with this caller as the probe, or None when the breaker is not half-open or
    another caller is probing."""
    row = conn.execute(
        _statements(_dialect(conn))["probe"],  # type: ignore[call-overload]
        {"n": name, "now": now_ms, "probe": int(settings.probe * 1000)},
    ).first()
    return None if row is None else _state(row)


def states(conn: Connection, names: Sequence[str]) -> dict[str, BreakerState]:
    rows = conn.execute(select(breakers.c.name, *_RETURNED).where(breakers.c.name.in_(list(names))))
    return {row[0]: _state(row[1:]) for row in rows}
