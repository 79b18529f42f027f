"""Plans, workspaces, users, memberships and developer keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import api_keys, memberships, plans, pools, users, workspaces


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    key_id: str
    user_id: str
    secret_hash: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    current_workspace_id: str | None
    rpm_limit: int | None = None  # the key's own rate limits; None: the plan's default
    tpm_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    """A message pool shared by workspaces: `messages` per UTC month, or in total."""

    id: str
    name: str
    messages: int
    renewal: str  # monthly | none


@dataclass(frozen=True, slots=True)
class WorkspaceAccess:
    workspace_id: str
    plan: str
    daily_message_limit: int | None
    daily_image_limit: int | None
    time_zone: str
    pool: Pool | None
    key_rpm_limit: int | None = None  # the plan's default rate limits for its keys
    key_tpm_limit: int | None = None


async def create_plan(conn: AsyncConnection, name: str, daily_message_limit: int | None) -> None:
    await conn.execute(
        plans.insert().values(name=name, daily_message_limit=daily_message_limit, created_at=now())
    )


async def set_plan_limit(conn: AsyncConnection, name: str, daily_message_limit: int | None) -> bool:
    result = await conn.execute(
        update(plans).where(plans.c.name == name).values(daily_message_limit=daily_message_limit)
    )
    return result.rowcount == 1


async def set_plan_image_limit(conn: AsyncConnection, name: str, limit: int | None) -> bool:
    result = await conn.execute(
        update(plans).where(plans.c.name == name).values(daily_image_limit=limit)
    )
    return result.rowcount == 1


async def set_time_zone(conn: AsyncConnection, workspace_id: str, time_zone: str) -> bool:
    result = await conn.execute(
        update(workspaces).where(workspaces.c.id == workspace_id).values(time_zone=time_zone)
    )
    return result.rowcount == 1


async def list_plans(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(plans).order_by(plans.c.name))
    return [dict(row._mapping) for row in rows]


async def find_plan(conn: AsyncConnection, name: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(plans).where(plans.c.name == name))).first()
    return dict(found._mapping) if found else None


async def create_workspace(conn: AsyncConnection, name: str, plan: str) -> str:
    workspace_id = new_id("ws")
    await conn.execute(
        workspaces.insert().values(id=workspace_id, name=name, plan=plan, created_at=now())
    )
    return workspace_id


async def list_workspaces(conn: AsyncConnection) -> list[dict[str, Any]]:
    members = (
        select(func.count())
        .where(memberships.c.workspace_id == workspaces.c.id)
        .scalar_subquery()
        .label("members")
    )
    rows = await conn.execute(select(workspaces, members).order_by(workspaces.c.created_at))
    return [dict(row._mapping) for row in rows]


async def workspace_exists(conn: AsyncConnection, workspace_id: str) -> bool:
    found = await conn.execute(select(workspaces.c.id).where(workspaces.c.id == workspace_id))
    return found.first() is not None


async def find_workspace(conn: AsyncConnection, workspace_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))).first()
    return dict(found._mapping) if found else None


async def create_user(conn: AsyncConnection, email: str, name: str | None = None) -> str:
    user_id = new_id("user")
    await conn.execute(users.insert().values(id=user_id, email=email, name=name, created_at=now()))
    return user_id


async def find_user(conn: AsyncConnection, id_or_email: str) -> dict[str, Any] | None:
    row = await conn.execute(
        select(users).where((users.c.id == id_or_email) | (users.c.email == id_or_email))
    )
    found = row.first()
    return dict(found._mapping) if found else None


async def list_users(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(users).order_by(users.c.created_at))
    return [dict(row._mapping) for row in rows]


async def add_member(
    conn: AsyncConnection, user_id: str, workspace_id: str, role: str = "member"
) -> None:
    """Add the user to the workspace; it becomes their current one if they had none."""
    await conn.execute(
        memberships.insert().values(
            user_id=user_id, workspace_id=workspace_id, role=role, created_at=now()
        )
    )
    await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.current_workspace_id.is_(None))
        .values(current_workspace_id=workspace_id)
    )


async def set_current_workspace(conn: AsyncConnection, user_id: str, workspace_id: str) -> bool:
    if await workspace_access(conn, user_id, workspace_id) is None:
        return False
    await conn.execute(
        update(users).where(users.c.id == user_id).values(current_workspace_id=workspace_id)
    )
    return True


async def create_key(
    conn: AsyncConnection,
    *,
    key_id: str,
    user_id: str,
    secret_hash: str,
    name: str | None,
    expires_at: datetime | None,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
) -> None:
    await conn.execute(
        api_keys.insert().values(
            id=key_id,
            user_id=user_id,
            name=name,
            secret_hash=secret_hash,
            created_at=now(),
            expires_at=expires_at,
            rpm_limit=rpm_limit,
            tpm_limit=tpm_limit,
        )
    )


async def set_key_limits(
    conn: AsyncConnection, key_id: str, rpm_limit: int | None, tpm_limit: int | None
) -> bool:
    """The key's own rate limits (None: none of its own, the plan's default applies)."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id)
        .values(rpm_limit=rpm_limit, tpm_limit=tpm_limit)
    )
    return result.rowcount == 1


async def set_plan_key_limits(
    conn: AsyncConnection, name: str, rpm_limit: int | None, tpm_limit: int | None
) -> bool:
    """The rate limits of the plan's keys that have none of their own (None: unlimited)."""
    result = await conn.execute(
        update(plans)
        .where(plans.c.name == name)
        .values(key_rpm_limit=rpm_limit, key_tpm_limit=tpm_limit)
    )
    return result.rowcount == 1


def _key_rows() -> Select[Any]:
    return select(
        api_keys.c.id,
        api_keys.c.user_id,
        users.c.email,
        api_keys.c.name,
        api_keys.c.created_at,
        api_keys.c.last_used_at,
        api_keys.c.expires_at,
        api_keys.c.revoked_at,
        api_keys.c.rpm_limit,
        api_keys.c.tpm_limit,
    ).join(users, users.c.id == api_keys.c.user_id)


async def list_keys(conn: AsyncConnection, user_id: str | None = None) -> list[dict[str, Any]]:
    query = _key_rows()
    if user_id:
        query = query.where(api_keys.c.user_id == user_id)
    rows = await conn.execute(query.order_by(api_keys.c.created_at))
    return [dict(row._mapping) for row in rows]


async def find_key(conn: AsyncConnection, key_id: str) -> dict[str, Any] | None:
    """The key as `list_keys` lists it."""
    found = (await conn.execute(_key_rows().where(api_keys.c.id == key_id))).first()
    return dict(found._mapping) if found else None


async def count_keys(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(api_keys))).scalar_one())


async def revoke_key(conn: AsyncConnection, key_id: str) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount == 1


async def expire_key(conn: AsyncConnection, key_id: str, at: datetime) -> None:
    """The key stops working at `at` (sooner if it expired already or was due to)."""
    current = api_keys.c.expires_at
    await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, or_(current.is_(None), current > at))
        .values(expires_at=at)
    )


async def key_owner(conn: AsyncConnection, key_id: str) -> KeyOwner | None:
    row = await conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.user_id,
            api_keys.c.secret_hash,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            api_keys.c.last_used_at,
            users.c.current_workspace_id,
            api_keys.c.rpm_limit,
            api_keys.c.tpm_limit,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.id == key_id)
    )
    found = row.first()
    return KeyOwner(*found) if found else None


async def touch_key(conn: AsyncConnection, key_id: str, when: datetime) -> None:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=when))


async def workspace_access(
    conn: AsyncConnection, user_id: str, workspace_id: str
) -> WorkspaceAccess | None:
    """The workspace and its plan when the user is a member of it, else None."""
    row = await conn.execute(
        select(
            workspaces.c.id,
            workspaces.c.plan,
            plans.c.daily_message_limit,
            plans.c.daily_image_limit,
            workspaces.c.time_zone,
            pools.c.id.label("pool_id"),
            pools.c.name.label("pool_name"),
            pools.c.messages.label("pool_messages"),
            pools.c.renewal.label("pool_renewal"),
            plans.c.key_rpm_limit,
            plans.c.key_tpm_limit,
        )
        .join(
            memberships,
            and_(
                memberships.c.workspace_id == workspaces.c.id,
                memberships.c.user_id == user_id,
            ),
        )
        .join(plans, plans.c.name == workspaces.c.plan)
        .outerjoin(pools, pools.c.id == workspaces.c.pool_id)
        .where(workspaces.c.id == workspace_id)
    )
    found = row.first()
    if found is None:
        return None
    pool = None
    if found.pool_id is not None:
        pool = Pool(found.pool_id, found.pool_name, found.pool_messages, found.pool_renewal)
    return WorkspaceAccess(
        workspace_id=found.id,
        plan=found.plan,
        daily_message_limit=found.daily_message_limit,
        daily_image_limit=found.daily_image_limit,
        time_zone=found.time_zone or "UTC",
        pool=pool,
        key_rpm_limit=found.key_rpm_limit,
        key_tpm_limit=found.key_tpm_limit,
    )
