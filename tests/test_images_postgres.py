"""The daily image limit on PostgreSQL: several gateways, each with its own connections,
reserve images at once and never pass the limit."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest

from gateway.settings import Settings
from storage import accounts, quota
from tests.conftest import SERVER_SECRET, run_db, seed
from tests.fakes.server import serve_asgi
from tests.services.postgres import server_bin
from web.app import create_app

pytestmark = pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed")


def test_image_limit_holds_across_gateways_sharing_one_postgres(
    database_url: str,
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(tmp_path),
        }
    )
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    run_db(database_url, lambda conn: accounts.set_plan_image_limit(conn, "team", 10))
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_asgi(create_app(settings))) for _ in range(3)]

        async def burst() -> list[object]:
            clients = [
                openai.AsyncOpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
                for url in urls
            ]
            calls = [
                clients[i % len(clients)].images.generate(
                    model="writingmate/echo-image", prompt=f"p{i}", n=3, size="16x16"
                )
                for i in range(24)
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
            for client in clients:
                await client.close()
            return results

        results = asyncio.run(burst())
    admitted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert (len(admitted), len(refused)) == (3, 21)
    [day] = run_db(database_url, lambda conn: quota.counters(conn, workspace_id, "images"))
    assert (day["used"], day["reserved"]) == (9, 0)
