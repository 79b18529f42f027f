"""What the video API tests share: the models, the environment of a worker that polls fast, the
mark that quiets the SDK's deprecation of Sora, and reads and writes of the seconds pool and the
job table. tests/conftest.py's `videos` fixture starts a gateway with that environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import plans, quota_counters, video_jobs

if TYPE_CHECKING:  # tests/conftest.py imports this module
    from tests.conftest import Gateway

ECHO = "writingmate/echo-video"
SORA = "openai/sora-2"
FAST = {"WMGW_VIDEO_POLL_SECONDS": "0.05"}
# The SDK deprecates Sora: its warnings are not the gateway's.
QUIET_SORA_DEPRECATION = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def set_grant(gateway: Gateway, seconds: int | None) -> None:
    async def work(conn: AsyncConnection) -> None:
        await conn.execute(update(plans).values(monthly_video_seconds=seconds))

    gateway.db(work)


def pool_used(gateway: Gateway) -> int:
    async def work(conn: AsyncConnection) -> int:
        used = await conn.scalar(
            select(quota_counters.c.used).where(quota_counters.c.unit == "video_seconds")
        )
        return int(used or 0)

    return gateway.db(work)


def job_row(gateway: Gateway, video_id: str) -> dict[str, Any]:
    async def work(conn: AsyncConnection) -> dict[str, Any]:
        row = (await conn.execute(select(video_jobs).where(video_jobs.c.id == video_id))).one()
        return dict(row._mapping)

    return gateway.db(work)
