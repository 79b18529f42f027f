"""`Idempotency-Key` rows: who runs a key's request, and the answer kept for its retries.

Exactly one request runs a key, whatever runs concurrently on other processes and hosts: a
request takes a key by inserting its row (INSERT ... ON CONFLICT DO NOTHING), or by one
conditional UPDATE of a row that expired or whose runner's lease ran out. Every change of a
running row names the attempt (`request_id`) that holds it, so an attempt whose row was taken
over writes nothing. `claim` writes before it reads, so SQLite takes its write lock up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, and_, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.idempotency import RUNNING, Seen
from storage.tables import idempotency_keys as keys

_NEW = {
    # RETURNING tells whether the row went in: psycopg's rowcount is -1 for this statement.
    name: dialect.insert(keys).on_conflict_do_nothing().returning(keys.c.key_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_SEEN = (keys.c.state, keys.c.fingerprint, keys.c.owner, keys.c.lease_until, keys.c.expires_at)
Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request trying to run under a key."""

    key_id: str
    idempotency_key: str
    fingerprint: str
    request_id: str
    owner: str  # the process, whose heartbeat renews the lease


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[Header]
    body: bytes | None


def _this(key_id: str, idempotency_key: str) -> Any:
    return and_(keys.c.key_id == key_id, keys.c.idempotency_key == idempotency_key)


def _held_by(attempt: Attempt) -> Any:
    return and_(
        _this(attempt.key_id, attempt.idempotency_key),
        keys.c.request_id == attempt.request_id,
        keys.c.state == RUNNING,
    )


def _count(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


def _running(attempt: Attempt, now_ms: int, lease_ms: int, ttl_ms: int) -> dict[str, Any]:
    return {
        "fingerprint": attempt.fingerprint,
        "request_id": attempt.request_id,
        "state": RUNNING,
        "owner": attempt.owner,
        "lease_until": now_ms + lease_ms,
        "status_code": None,
        "headers": None,
        "body": None,
        "created_at": now_ms,
        "expires_at": now_ms + ttl_ms,
    }


async def claim(
    conn: AsyncConnection, attempt: Attempt, now_ms: int, lease_ms: int, ttl_ms: int
) -> Seen | None:
    """Take the key for `attempt` (None), or the row that another request holds."""
    running = _running(attempt, now_ms, lease_ms, ttl_ms)
    key = {"key_id": attempt.key_id, "idempotency_key": attempt.idempotency_key}
    inserted = await conn.execute(_NEW[conn.dialect.name].values(**key, **running))
    if inserted.first() is not None:
        return None
    free = or_(
        keys.c.expires_at <= now_ms,
        and_(
            keys.c.state == RUNNING,
            keys.c.lease_until <= now_ms,
            keys.c.fingerprint == attempt.fingerprint,
        ),
    )
    taken = await conn.execute(
        update(keys).where(_this(attempt.key_id, attempt.idempotency_key), free).values(**running)
    )
    if _count(taken) == 1:
        return None
    seen = await peek(conn, attempt.key_id, attempt.idempotency_key)
    return seen if seen is not None else await claim(conn, attempt, now_ms, lease_ms, ttl_ms)


async def peek(conn: AsyncConnection, key_id: str, idempotency_key: str) -> Seen | None:
    row = (await conn.execute(select(*_SEEN).where(_this(key_id, idempotency_key)))).first()
    return Seen(*row) if row is not None else None


async def answer(conn: AsyncConnection, key_id: str, idempotency_key: str) -> Answer | None:
    row = (
        await conn.execute(
            select(keys.c.status_code, keys.c.headers, keys.c.body).where(
                _this(key_id, idempotency_key), keys.c.status_code.is_not(None)
            )
        )
    ).first()
    if row is None:
        return None
    return Answer(row.status_code, [(name, value) for name, value in row.headers], row.body)


async def finish(conn: AsyncConnection, attempt: Attempt, state: str, answer: Answer) -> bool:
    """Record how the attempt ended, if it still holds its key."""
    result = await conn.execute(
        update(keys)
        .where(_held_by(attempt))
        .values(
            state=state,
            owner=None,
            lease_until=None,
            status_code=answer.status,
            headers=[list(header) for header in answer.headers],
            body=answer.body,
        )
    )
    return _count(result) == 1


async def forget(conn: AsyncConnection, attempt: Attempt) -> None:
    """Let go of the key, so that a retry runs the request again."""
    await conn.execute(delete(keys).where(_held_by(attempt)))


async def renew(
    conn: AsyncConnection, owner: str, running: list[tuple[str, str]], until_ms: int
) -> None:
    """Extend the leases of the keys this process is running."""
    if not running:
        return
    await conn.execute(
        update(keys)
        .where(
            tuple_(keys.c.key_id, keys.c.idempotency_key).in_(running),
            keys.c.owner == owner,
            keys.c.state == RUNNING,
        )
        .values(lease_until=until_ms)
    )


async def purge(conn: AsyncConnection, now_ms: int) -> int:
    """Delete expired rows (a running one only once its lease ran out too)."""
    result = await conn.execute(
        delete(keys).where(
            keys.c.expires_at <= now_ms,
            or_(keys.c.state != RUNNING, keys.c.lease_until <= now_ms),
        )
    )
    return _count(result)
