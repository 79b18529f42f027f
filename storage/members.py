"""Memberships: who belongs to which workspace, and the current workspace of each user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import memberships, users, workspaces


async def list_members(
    conn: AsyncConnection, workspace_id: str | None = None, user_id: str | None = None
) -> list[dict[str, Any]]:
    """Memberships (of one workspace, or of one user, or all), each with the user's email, the
    workspace's name and whether it is the user's current workspace."""
    query = (
        select(
            memberships.c.workspace_id,
            workspaces.c.name.label("workspace_name"),
            memberships.c.user_id,
            users.c.email,
            memberships.c.role,
            (users.c.current_workspace_id == memberships.c.workspace_id).label("current"),
            memberships.c.created_at,
        )
        .join(users, users.c.id == memberships.c.user_id)
        .join(workspaces, workspaces.c.id == memberships.c.workspace_id)
    )
    if workspace_id is not None:
        query = query.where(memberships.c.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(memberships.c.user_id == user_id)
    rows = await conn.execute(query.order_by(workspaces.c.created_at, memberships.c.created_at))
    return [{**row._mapping, "current": bool(row.current)} for row in rows]


async def role_of(conn: AsyncConnection, user_id: str, workspace_id: str) -> str | None:
    """The user's role in the workspace, or None when they are not a member of it."""
    found = await conn.execute(
        select(memberships.c.role).where(
            memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
        )
    )
    role = found.scalar_one_or_none()
    return None if role is None else str(role)


async def set_role(conn: AsyncConnection, user_id: str, workspace_id: str, role: str) -> bool:
    """Change what the user is to the workspace; False when they are not a member of it."""
    changed = await conn.execute(
        update(memberships)
        .where(memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id)
        .values(role=role)
    )
    return bool(changed.rowcount == 1)


async def remove_member(conn: AsyncConnection, user_id: str, workspace_id: str) -> bool:
    """Take the user out of the workspace; False when they were not in it."""
    removed = await conn.execute(
        delete(memberships).where(
            memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
        )
    )
    await leave_current(conn, workspace_id, users.c.id == user_id)
    return bool(removed.rowcount == 1)


async def leave_current(conn: AsyncConnection, workspace_id: str, *which: Any) -> None:
    """Users (those `which` selects, else all) whose current workspace is `workspace_id` move to
    the earliest other workspace they belong to, or to none (their keys then work nowhere
    until `wmgw user use` or `wmgw member add` gives them one)."""
    other = (
        select(memberships.c.workspace_id)
        .where(memberships.c.user_id == users.c.id, memberships.c.workspace_id != workspace_id)
        .order_by(memberships.c.created_at)
        .limit(1)
        .scalar_subquery()
    )
    await conn.execute(
        update(users)
        .where(users.c.current_workspace_id == workspace_id, *which)
        .values(current_workspace_id=other)
    )


async def current_workspace(conn: AsyncConnection, user_id: str) -> str | None:
    found = await conn.execute(select(users.c.current_workspace_id).where(users.c.id == user_id))
    current = found.scalar_one_or_none()
    return None if current is None else str(current)
