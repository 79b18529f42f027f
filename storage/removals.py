"""Deleting users, workspaces and plans, with what depends on them.

Each `*_dependents` counts the rows a deletion would have to remove (or move); the matching
`delete_*` removes them and then the row itself, in the caller's transaction. The ledger is
history and keeps its rows: usage reports still count them, by id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.members import leave_current
from storage.tables import (
    api_keys,
    console_sessions,
    idempotency_keys,
    memberships,
    plans,
    provider_keys,
    quota_counters,
    rate_limits,
    responses,
    users,
    video_jobs,
    workspaces,
)


async def _count(conn: AsyncConnection, table: Any, where: ColumnElement[bool]) -> int:
    found = await conn.execute(select(func.count()).select_from(table).where(where))
    return int(found.scalar_one())


async def user_dependents(conn: AsyncConnection, user_id: str) -> dict[str, int]:
    return {
        "keys": await _count(conn, api_keys, api_keys.c.user_id == user_id),
        "memberships": await _count(conn, memberships, memberships.c.user_id == user_id),
        "own_provider_keys": await _count(conn, provider_keys, provider_keys.c.user_id == user_id),
    }


async def delete_user(conn: AsyncConnection, user_id: str) -> None:
    """The user, their developer keys (with their rate-limit buckets and idempotency records),
    their memberships, their own upstream keys and their console sessions."""
    keys = select(api_keys.c.id).where(api_keys.c.user_id == user_id)
    await conn.execute(delete(rate_limits).where(rate_limits.c.key_id.in_(keys)))
    await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.key_id.in_(keys)))
    await conn.execute(delete(api_keys).where(api_keys.c.user_id == user_id))
    await conn.execute(delete(memberships).where(memberships.c.user_id == user_id))
    await conn.execute(delete(provider_keys).where(provider_keys.c.user_id == user_id))
    await conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    await conn.execute(delete(users).where(users.c.id == user_id))


async def workspace_dependents(conn: AsyncConnection, workspace_id: str) -> dict[str, int]:
    return {
        "memberships": await _count(conn, memberships, memberships.c.workspace_id == workspace_id),
        "stored_responses": await _count(conn, responses, responses.c.workspace_id == workspace_id),
        "video_jobs": await _count(conn, video_jobs, video_jobs.c.workspace_id == workspace_id),
    }


async def delete_workspace(conn: AsyncConnection, workspace_id: str) -> None:
    """The workspace, its memberships (its users' current workspace moves to another of
    theirs, or to none), its stored responses, its video jobs and its quota counters."""
    await leave_current(conn, workspace_id)
    await conn.execute(delete(memberships).where(memberships.c.workspace_id == workspace_id))
    await conn.execute(delete(responses).where(responses.c.workspace_id == workspace_id))
    await conn.execute(delete(video_jobs).where(video_jobs.c.workspace_id == workspace_id))
    await conn.execute(delete(quota_counters).where(quota_counters.c.subject == workspace_id))
    await conn.execute(delete(workspaces).where(workspaces.c.id == workspace_id))


async def workspaces_on(conn: AsyncConnection, plan: str) -> list[str]:
    """The ids of the workspaces on the plan, oldest first."""
    rows = await conn.execute(
        select(workspaces.c.id).where(workspaces.c.plan == plan).order_by(workspaces.c.created_at)
    )
    return [str(workspace_id) for workspace_id in rows.scalars()]


async def move_workspaces(conn: AsyncConnection, plan: str, to: str) -> None:
    await conn.execute(update(workspaces).where(workspaces.c.plan == plan).values(plan=to))


async def delete_plan(conn: AsyncConnection, plan: str) -> None:
    """The plan alone: its workspaces were moved or deleted first."""
    await conn.execute(delete(plans).where(plans.c.name == plan))
