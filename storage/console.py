"""What the account console stores of its own: users' password hashes, the site-admin flag,
and sign-in sessions (only a hash of each session id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.accounts import now
from storage.tables import console_sessions, users


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    email: str
    name: str | None
    is_admin: bool
    current_workspace_id: str | None
    csrf_token: str


async def set_password(conn: AsyncConnection, user_id: str, password_hash: str) -> None:
    """A new password also ends every session the user had."""
    await conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )
    await conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))


async def set_admin(conn: AsyncConnection, user_id: str, is_admin: bool) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(is_admin=is_admin))


async def sign_in_row(conn: AsyncConnection, email: str) -> dict[str, Any] | None:
    """The user's id and password hash, by email."""
    found = await conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.email == email)
    )
    row = found.first()
    return dict(row._mapping) if row else None


async def create_session(
    conn: AsyncConnection, id_hash: str, user_id: str, csrf_token: str, expires_at: datetime
) -> None:
    await conn.execute(
        console_sessions.insert().values(
            id_hash=id_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now(),
            expires_at=expires_at,
        )
    )


async def session(conn: AsyncConnection, id_hash: str, at: datetime) -> Session | None:
    """The session and its user, unless it expired."""
    found = await conn.execute(
        select(
            users.c.id,
            users.c.email,
            users.c.name,
            users.c.is_admin,
            users.c.current_workspace_id,
            console_sessions.c.csrf_token,
            console_sessions.c.expires_at,
        )
        .join(users, users.c.id == console_sessions.c.user_id)
        .where(console_sessions.c.id_hash == id_hash)
    )
    row = found.first()
    if row is None or _aware(row.expires_at) <= at:
        return None
    return Session(
        row.id, row.email, row.name, bool(row.is_admin), row.current_workspace_id, row.csrf_token
    )


async def end_session(conn: AsyncConnection, id_hash: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


async def end_sessions_of(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
