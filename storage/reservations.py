"""Requests in flight: admission, settlement, leases and the sweep of dead processes' requests.

Admission reserves every counter a request draws on and records the request, in one
transaction: either all of it happens or none. Settlement deletes that record, replaces the
holds with what the request used and writes its ledger row, in one transaction; the delete is
what makes it happen once, whoever settles (the request's own process, or a sweeper after its
lease ran out). These are operations for the metering writer (storage/group_commit.py):
blocking functions of a Connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_, update

from domain.quota import Counter, Hold, Want
from storage import quota, usage
from storage.direct import Direct
from storage.tables import quota_counters as qc
from storage.tables import reservations as r

_COLUMNS = [c.name for c in r.columns]
_INSERT = Direct(r.insert(), column_keys=_COLUMNS)
_DELETE = Direct(delete(r).where(r.c.request_id == bindparam("r")))
_TAKE = Direct(
    delete(r).where(r.c.request_id == bindparam("r"), r.c.lease_until < bindparam("now"))
)
_RENEW = Direct(update(r).where(r.c.owner == bindparam("o")).values(lease_until=bindparam("t")))
_PROGRESS = (
    update(r)
    .where(r.c.request_id == bindparam("r"))
    .values(
        prompt_tokens=bindparam("prompt"),
        completion_tokens=bindparam("completion"),
        cached_tokens=bindparam("cached"),
    )
)
_LOCK_COUNTERS = (
    select(qc.c.subject)
    .where(tuple_(qc.c.subject, qc.c.unit, qc.c.period).in_(bindparam("keys", expanding=True)))
    .order_by(qc.c.subject, qc.c.unit, qc.c.period)
    .with_for_update()
)
_EXPIRED = select(r).where(r.c.lease_until < bindparam("now")).order_by(r.c.lease_until)


@dataclass(frozen=True, slots=True)
class InFlight:
    """The record of an admitted request, as stored until it is settled."""

    request_id: str
    owner: str
    lease_until: int  # unix ms
    workspace_id: str
    user_id: str
    key_id: str
    endpoint: str
    model: str
    provider: str
    byok: bool
    quota_day: date
    created_at: datetime

    def row(self, holds: Sequence[Hold]) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _COLUMNS if hasattr(self, name)}
        values.update(
            holds=[hold.as_row() for hold in holds],
            prompt_tokens=0,
            completion_tokens=0,
            cached_tokens=0,
        )
        return values


@dataclass(frozen=True, slots=True)
class Refused:
    """Admission refused: the counter that did not fit, as it stood."""

    want: Want
    counter: Counter


Granted = list[tuple[Hold, Counter]]


def admit(conn: Connection, request: InFlight, wants: Sequence[Want]) -> Granted | Refused:
    """Reserve every want and record the request, or nothing at all. A message want after
    the first is capped to what the first one granted (a pool never grants more than the
    daily limit left, or the reverse), and if it grants less, the first gives the difference
    back. Counters are taken in their key order (see `lock_counters`)."""
    granted: Granted = []
    for want in sorted(wants, key=_key_of):
        if granted and want.unit == granted[0][0].unit and want.n > granted[0][0].n:
            want = _capped(want, granted[0][0].n)
        result = quota.reserve(conn, want)
        if result is None:
            _undo(conn, granted)
            return Refused(want, quota.read(conn, want))
        granted.append(result)
    granted = _align(conn, granted)
    _INSERT.execute(conn, request.row([hold for hold, _ in granted]))
    return granted


def _capped(want: Want, n: int) -> Want:
    return Want(want.subject, want.unit, want.period, n, want.limit, min(want.at_least, n))


def _align(conn: Connection, granted: Granted) -> Granted:
    """Message holds lowered by a later counter: the earlier ones keep only as much."""
    messages = [hold.n for hold, _ in granted if hold.unit == granted[0][0].unit]
    least = min(messages) if messages else 0
    aligned: Granted = []
    for hold, counter in granted:
        if hold.unit == granted[0][0].unit and hold.n > least:
            quota.settle(conn, Hold(hold.subject, hold.unit, hold.period, hold.n - least), 0)
            hold = Hold(hold.subject, hold.unit, hold.period, least)
            counter = Counter(counter.limit, counter.used, counter.reserved - (hold.n - least))
        aligned.append((hold, counter))
    return aligned


def _undo(conn: Connection, granted: Granted) -> None:
    for hold, _ in granted:
        quota.settle(conn, hold, 0)


CounterKey = tuple[str, str, str]


def _key_of(item: Want | Hold) -> CounterKey:
    return item.subject, item.unit, item.period


def counter_keys(operation: Any) -> list[CounterKey]:
    """The counters a metering operation (a partial of `admit`, `settle` or a sweep) changes."""
    keywords = getattr(operation, "keywords", {})
    items = keywords.get("wants") or keywords.get("holds") or []
    record = keywords.get("record")
    if record is not None:
        items = [Hold.of_row(hold) for hold in record["holds"]]
    return [_key_of(item) for item in items]


def lock_counters(conn: Connection, operations: list[Any]) -> None:
    """Lock every counter a batch will change, in one global order, before any of its
    operations runs. On PostgreSQL a batch holds row locks until it commits, and a batch of
    several requests locks several workspaces' and pools' counters: taken in arrival order,
    two processes' batches could each wait for the other's. (A counter not created yet is
    not locked here; the first request of a period creates it.)"""
    keys = sorted({key for operation in operations for key in counter_keys(operation)})
    if len(keys) > 1 or (keys and len(operations) > 1):
        conn.execute(_LOCK_COUNTERS, {"keys": [list(key) for key in keys]}).fetchall()


def settle(
    conn: Connection,
    holds: Sequence[Hold],
    used: dict[str, int],
    row: usage.LedgerRow,
    attempts: Sequence[Mapping[str, Any]] = (),
) -> dict[Hold, tuple[int, int]] | None:
    """Settle a request once: its holds become `used` (per unit), its ledger row (and those of
    its upstream calls) is written. None, with nothing written, if the request was already
    settled (by a sweeper)."""
    if _DELETE.execute(conn, {"r": row.request_id}).rowcount != 1:
        return None
    totals = {}
    for hold in sorted(holds, key=_key_of):
        after = quota.settle(conn, hold, used.get(hold.unit, 0))
        if after is not None:
            totals[hold] = after
    usage.record(conn, row, attempts)
    return totals


def renew(conn: Connection, owner: str, until_ms: int, progress: Sequence[dict[str, Any]]) -> None:
    """Extend the leases of an owner's requests, and record how far each has got."""
    _RENEW.execute(conn, {"o": owner, "t": until_ms})
    if progress:
        conn.execute(_PROGRESS, list(progress))


def expired(conn: Connection, now_ms: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(_EXPIRED.limit(limit), {"now": now_ms})
    return [dict(row._mapping) for row in rows]


def take_expired(conn: Connection, request_id: str, now_ms: int) -> bool:
    """Take an expired request for settling; False if its owner renewed it or another process
    took it first."""
    return bool(_TAKE.execute(conn, {"r": request_id, "now": now_ms}).rowcount == 1)


def settle_taken(
    conn: Connection, holds: Sequence[Hold], used: dict[str, int], row: usage.LedgerRow
) -> None:
    for hold in sorted(holds, key=_key_of):
        quota.settle(conn, hold, used.get(hold.unit, 0))
    usage.record(conn, row)


async def in_flight(conn: Any) -> list[dict[str, Any]]:
    """Every request in flight (for tests and operators)."""
    return [dict(row._mapping) for row in await conn.execute(select(r))]
