"""What the console shows, read with the storage functions the CLI and the API use: a user's
workspaces with what is left today, their keys, their usage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import IMAGES, MESSAGES, month_of, pool_period, quota_day
from domain.usage_period import asked
from domain.videos import period_of
from storage import accounts, members, quota, videos
from usecases.usage import workspace_usage

KEY_FIELDS = ("id", "name", "created_at", "last_used_at", "expires_at", "revoked_at")


def iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    return str(moment)


def key_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {name: iso(row[name]) if name.endswith("_at") else row[name] for name in KEY_FIELDS}


async def user_keys(conn: AsyncConnection, user_id: str) -> list[dict[str, Any]]:
    return [key_fields(row) for row in await accounts.list_keys(conn, user_id)]


async def workspaces_of(conn: AsyncConnection, user_id: str) -> list[dict[str, Any]]:
    """The user's workspaces, their role, plan and what is left today (None: unlimited)."""
    found = []
    for member in await members.list_members(conn, user_id=user_id):
        access = await accounts.workspace_access(conn, user_id, member["workspace_id"])
        if access is not None:
            found.append(
                {
                    "id": access.workspace_id,
                    "name": member["workspace_name"],
                    "role": member["role"],
                    "current": member["current"],
                    "plan": access.plan,
                    **await _left_today(conn, access),
                }
            )
    return found


async def _left_today(conn: AsyncConnection, access: accounts.WorkspaceAccess) -> dict[str, Any]:
    today = quota_day(time_zone=access.time_zone).isoformat()
    messages = await quota.counter(
        conn, access.workspace_id, MESSAGES, today, access.daily_message_limit
    )
    images = await quota.counter(conn, access.workspace_id, IMAGES, today, access.daily_image_limit)
    seconds = await videos.workspace_pool(conn, access.workspace_id, period_of(datetime.now(UTC)))
    pool = None
    if access.pool is not None:
        period = pool_period(access.pool.renewal)
        counter = await quota.counter(conn, access.pool.id, MESSAGES, period, access.pool.messages)
        pool = {
            "name": access.pool.name,
            "renewal": access.pool.renewal,
            "remaining": counter.remaining,
        }
    return {
        "time_zone": access.time_zone,
        "messages_remaining": messages.remaining,
        "messages_limit": access.daily_message_limit,
        "images_remaining": images.remaining,
        "video_seconds_remaining": seconds.remaining if seconds else None,
        "video_month": month_of(),
        "pool": pool,
    }


async def usage_of(conn: AsyncConnection, workspace: dict[str, Any]) -> dict[str, Any]:
    """The last 30 days of the workspace, as `GET /usage` answers them."""
    period = asked(None, None, today=quota_day(time_zone=workspace["time_zone"]))
    return await workspace_usage(conn, workspace["id"], period)
