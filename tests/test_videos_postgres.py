"""Videos on PostgreSQL with several gateways sharing it: the seconds pool holds under
concurrent creations, and each job is polled by one worker at a time (the lease)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import openai
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.settings import Settings
from storage.tables import plans, video_jobs
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.services.postgres import server_bin
from web.app import create_app

pytestmark = [
    pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def gateways(
    database_url: str,
    fake_openai: FakeOpenAIUpstream,
    tmp_path: Any,
) -> Iterator[tuple[list[str], str, str]]:
    """Three gateways on one database: (their API URLs, the key, the database URL)."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(tmp_path),
            "WMGW_OPENAI_API_KEY": UPSTREAM_KEY,
            "WMGW_OPENAI_BASE_URL": f"{fake_openai.base_url}/v1",
            "WMGW_VIDEO_POLL_SECONDS": "0.02",
        }
    )
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_asgi(create_app(settings))) for _ in range(3)]
        yield [f"{url}/api/openai/v1" for url in urls], key, database_url


def clients(urls: list[str], key: str) -> list[openai.AsyncOpenAI]:
    return [openai.AsyncOpenAI(base_url=url, api_key=key, max_retries=0) for url in urls]


def test_pool_holds_across_gateways(gateways: tuple[list[str], str, str]) -> None:
    urls, key, url = gateways

    async def grant(conn: AsyncConnection) -> None:
        await conn.execute(update(plans).values(monthly_video_seconds=40))

    run_db(url, grant)

    async def burst() -> list[Any]:
        many = clients(urls, key)
        calls = [
            many[i % 3].videos.create(model="writingmate/echo-video", prompt=f"{i}", seconds="8")
            for i in range(24)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for client in many:
            await client.close()
        return results

    results = asyncio.run(burst())
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    unexpected = [repr(r) for r in results if isinstance(r, Exception) and r not in refused]
    assert unexpected == []
    assert (len(made), len(refused)) == (5, 19)


def test_each_job_is_polled_by_one_worker_at_a_time(
    gateways: tuple[list[str], str, str], fake_openai: FakeOpenAIUpstream
) -> None:
    urls, key, url = gateways

    async def make() -> list[str]:
        many = clients(urls, key)
        calls = [
            many[i % 3].videos.create(model="openai/sora-2", prompt=f"job {i}") for i in range(9)
        ]
        videos = await asyncio.gather(*calls)
        for client in many:
            await client.close()
        return [v.id for v in videos]

    ids = asyncio.run(make())
    reader = openai.OpenAI(base_url=urls[0], api_key=key, max_retries=0)
    deadline = time.monotonic() + 20
    while any(reader.videos.retrieve(i).status != "completed" for i in ids):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # The fake completes a job on its third poll: a job polled twice at once would show more.
    assert sorted(fake_openai.videos.polls_of(j) for j in fake_openai.videos.jobs) == [3] * 9

    async def leases(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(video_jobs.select())).mappings())

    assert all(row["lease_owner"] is None for row in run_db(url, leases))


def test_first_requests_of_the_day_on_several_gateways_are_all_admitted(
    gateways: tuple[list[str], str, str],
) -> None:
    """Unlimited plan, fresh day: no request may be refused while the day's row is created
    by another gateway at the same moment."""
    urls, key, _ = gateways

    async def burst() -> list[Any]:
        many = clients(urls, key)
        calls = [
            many[i % 3].chat.completions.create(
                model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
            )
            for i in range(30)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for client in many:
            await client.close()
        return results

    results = asyncio.run(burst())
    assert [repr(r) for r in results if isinstance(r, Exception)] == []
