"""Video jobs and the video-seconds pool.

Every change that must not happen twice is one conditional UPDATE, atomic on SQLite and
PostgreSQL alike: seconds are drawn only while `used + n <= the plan's monthly grant`; a job is
claimed for polling only while nobody holds an unexpired lease on it; a job fails (and gives
its seconds back) only while it is still active and the writer holds its lease. Each
transaction writes before it reads, so SQLite takes its write lock up front (a read-then-write
transaction could fail with SQLITE_BUSY_SNAPSHOT instead of waiting).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.quota import VIDEO_SECONDS
from domain.videos import ACTIVE, FAILED, Job, SecondsPool, UpstreamVideo
from storage import quota
from storage.tables import ledger, plans, video_jobs, workspaces

ENDPOINT = "videos"

_GRANT = select(plans.c.monthly_video_seconds).where(plans.c.name == bindparam("plan"))
_ACTIVE = video_jobs.c.status.in_(ACTIVE)


def _unleased(now_ms: int) -> Any:
    return or_(video_jobs.c.lease_until.is_(None), video_jobs.c.lease_until < now_ms)


async def _grant(conn: AsyncConnection, plan: str) -> int | None:
    return (await conn.execute(_GRANT, {"plan": plan})).scalar()


async def draw_and_create(
    conn: AsyncConnection, plan: str, job: Mapping[str, Any]
) -> SecondsPool | None:
    """Draw the job's seconds from its workspace's pool for its month and insert the job,
    together; None (and nothing written) when the pool has too few seconds left."""
    limit = await _grant(conn, plan)
    drawn = await quota.draw(
        conn, job["workspace_id"], VIDEO_SECONDS, job["period"], int(job["seconds"]), limit
    )
    if drawn is None:
        return None
    await conn.execute(video_jobs.insert().values(**job))
    return SecondsPool(limit=limit, used=drawn.used)


async def pool(conn: AsyncConnection, workspace_id: str, plan: str, period: str) -> SecondsPool:
    counter = await quota.counter(conn, workspace_id, VIDEO_SECONDS, period, None)
    return SecondsPool(limit=await _grant(conn, plan), used=counter.used)


async def abandon(conn: AsyncConnection, job_id: str, owner: str) -> bool:
    """Undo a job that never reached the upstream: delete it and give its seconds back."""
    gone = (
        await conn.execute(
            delete(video_jobs)
            .where(video_jobs.c.id == job_id, video_jobs.c.lease_owner == owner)
            .returning(video_jobs.c.workspace_id, video_jobs.c.period, video_jobs.c.seconds)
        )
    ).first()
    if gone is None:
        return False
    await quota.give_back(conn, gone.workspace_id, VIDEO_SECONDS, gone.period, int(gone.seconds))
    return True


def _count(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


async def submitted(
    conn: AsyncConnection, job_id: str, owner: str, video: UpstreamVideo, next_poll_at: int
) -> Job | None:
    """The upstream accepted the job: remember its id and status, and let the worker poll it."""
    await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.id == job_id, video_jobs.c.lease_owner == owner)
        .values(
            upstream_id=video.id,
            status=video.status if video.status in ACTIVE else ACTIVE[0],
            progress=video.progress,
            next_poll_at=next_poll_at,
            lease_owner=None,
            lease_until=None,
        )
    )
    return await _get(conn, job_id)


async def get(conn: AsyncConnection, job_id: str, workspace_id: str) -> Job | None:
    """The job, if it belongs to the workspace (the same answer whether it exists or not)."""
    job = await _get(conn, job_id)
    return job if job is not None and job.workspace_id == workspace_id else None


async def _get(conn: AsyncConnection, job_id: str) -> Job | None:
    row = (await conn.execute(select(video_jobs).where(video_jobs.c.id == job_id))).first()
    return job_of(row._mapping) if row is not None else None


def job_of(row: Any) -> Job:
    return Job(
        id=row["id"],
        workspace_id=row["workspace_id"],
        user_id=row["user_id"],
        key_id=row["key_id"],
        model=row["model"],
        provider=row["provider"],
        upstream_id=row["upstream_id"],
        status=row["status"],
        progress=row["progress"],
        prompt=row["prompt"],
        seconds=row["seconds"],
        size=row["size"],
        error=row["error"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        expires_at=row["expires_at"],
        period=row["period"],
        polls=row["polls_failed"],
        deadline_at=row["deadline_at"],
    )


async def due(conn: AsyncConnection, now_ms: int, limit: int) -> list[str]:
    """Active jobs whose next poll is due and that nobody holds, soonest first."""
    rows = await conn.execute(
        select(video_jobs.c.id)
        .where(_ACTIVE, video_jobs.c.next_poll_at <= now_ms, _unleased(now_ms))
        .order_by(video_jobs.c.next_poll_at)
        .limit(limit)
    )
    return [row.id for row in rows]


async def claim(
    conn: AsyncConnection, job_id: str, owner: str, now_ms: int, lease_ms: int
) -> Job | None:
    """Take the job's lease, unless another process holds it; None if it was not ours to take."""
    result = await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.id == job_id, _ACTIVE, _unleased(now_ms))
        .where(video_jobs.c.next_poll_at <= now_ms)  # another process may have just polled it
        .values(lease_owner=owner, lease_until=now_ms + lease_ms)
    )
    return await _get(conn, job_id) if _count(result) == 1 else None


async def advance(
    conn: AsyncConnection, job_id: str, owner: str, video: UpstreamVideo, next_poll_at: int
) -> bool:
    """Record an active or completed status seen upstream, and release the lease."""
    result = await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.id == job_id, video_jobs.c.lease_owner == owner, _ACTIVE)
        .values(
            status=video.status,
            progress=video.progress,
            completed_at=video.completed_at,
            expires_at=video.expires_at,
            polls_failed=0,
            next_poll_at=next_poll_at,
            lease_owner=None,
            lease_until=None,
        )
    )
    return _count(result) == 1


async def postpone(conn: AsyncConnection, job_id: str, owner: str, next_poll_at: int) -> None:
    """A poll failed for a reason that may pass: try again later."""
    await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.id == job_id, video_jobs.c.lease_owner == owner)
        .values(
            polls_failed=video_jobs.c.polls_failed + 1,
            next_poll_at=next_poll_at,
            lease_owner=None,
            lease_until=None,
        )
    )


async def fail(
    conn: AsyncConnection, job: Job, owner: str, error: Mapping[str, Any], now_s: int
) -> bool:
    """Fail an active job, give its seconds back to the pool it came from and write the
    refund in the ledger, all at once; False (nothing written) if it was not ours to fail."""
    result = await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.id == job.id, video_jobs.c.lease_owner == owner, _ACTIVE)
        .values(status=FAILED, error=dict(error), lease_owner=None, lease_until=None)
    )
    if _count(result) != 1:
        return False
    seconds = int(job.seconds)
    await quota.give_back(conn, job.workspace_id, VIDEO_SECONDS, job.period, seconds)
    await conn.execute(ledger.insert().values(**refund_row(job, seconds, now_s)))
    return True


def refund_row(job: Job, seconds: int, now_s: int) -> dict[str, Any]:
    """A ledger row that gives a failed job's seconds back (it is not an HTTP request)."""
    return {
        "request_id": f"{job.id}:refund",
        "user_id": job.user_id,
        "workspace_id": job.workspace_id,
        "key_id": job.key_id,
        "model": job.model,
        "provider": job.provider,
        "endpoint": ENDPOINT,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "messages": 0,
        "usage_estimated": False,
        "byok": False,
        "status": "refunded",
        "http_status": 0,
        "duration_ms": 0,
        "created_at": datetime.fromtimestamp(now_s, UTC),
        "quota_day": datetime.fromtimestamp(now_s, UTC).date(),
        "video_seconds": -seconds,
    }


async def set_monthly_grant(conn: AsyncConnection, plan: str, seconds: int | None) -> bool:
    result = await conn.execute(
        update(plans).where(plans.c.name == plan).values(monthly_video_seconds=seconds)
    )
    return _count(result) == 1


async def workspace_pool(
    conn: AsyncConnection, workspace_id: str, period: str
) -> SecondsPool | None:
    """A workspace's pool for a month under its plan's grant; None if no such workspace."""
    plan = (
        await conn.execute(select(workspaces.c.plan).where(workspaces.c.id == workspace_id))
    ).scalar()
    return None if plan is None else await pool(conn, workspace_id, plan, period)


async def release_leases(conn: AsyncConnection, owner: str) -> None:
    """A stopping process lets go of the jobs it holds, so another takes them at once."""
    await conn.execute(
        update(video_jobs)
        .where(video_jobs.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
