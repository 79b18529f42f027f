"""The gateway on PostgreSQL (`DATABASE_URL`): migrations, and a daily limit that holds when
several gateways, each with its own connections, admit requests at once."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest

from gateway.settings import Settings
from storage import quota, usage
from storage.usage_reports import usage_by
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed
from tests.fakes.server import serve_asgi
from tests.services.postgres import server_bin
from tests.usage_ledger import period_today
from web.app import create_app

pytestmark = pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed")


def settings_on(database_url: str, data_dir: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(data_dir),
        }
    )


def burst_through_three_gateways(settings: Settings, key: str, requests: int) -> list[object]:
    """`requests` chat requests at once, spread over three gateways sharing the database."""
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_asgi(create_app(settings))) for _ in range(3)]

        async def burst() -> list[object]:
            clients = [
                openai.AsyncOpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
                for url in urls
            ]
            calls = [
                clients[i % len(clients)].chat.completions.create(
                    model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
                )
                for i in range(requests)
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
            for client in clients:
                await client.close()
            return results

        return asyncio.run(burst())


def test_limit_holds_across_gateways_sharing_one_postgres(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_on(database_url, tmp_path)
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=12)
    results = burst_through_three_gateways(settings, key, 60)
    admitted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert (len(admitted), len(refused)) == (12, 48)
    report = run_db(database_url, lambda conn: usage_by(conn, "day", period_today(), workspace_id))
    assert report[0]["messages"] == 12 and report[0]["requests"] == 12


def test_unlimited_requests_on_several_gateways_are_all_counted_on_postgres(  # type: ignore[no-untyped-def]
    database_url: str, tmp_path
) -> None:
    """No reservation is made without a limit, so the day's first settles create its row,
    from three gateways at once."""
    settings = settings_on(database_url, tmp_path)
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    results = burst_through_three_gateways(settings, key, 45)
    assert not [r for r in results if isinstance(r, Exception)]
    [day] = run_db(database_url, lambda conn: quota.counters(conn, workspace_id, "messages"))
    assert (day["used"], day["reserved"]) == (45, 0)
    assert len(run_db(database_url, usage.ledger_rows)) == 45


def test_streams_and_errors_are_metered_on_postgres(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_on(database_url, tmp_path)
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="writingmate/echo",
                messages=[{"role": "user", "content": "stream me"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="nope/nope", messages=[{"role": "user", "content": "x"}]
            )
    assert chunks[-1].usage.completion_tokens == 2
    [row] = run_db(database_url, usage.ledger_rows)
    assert (row["workspace_id"], row["status"], row["messages"]) == (workspace_id, "completed", 1)


def test_four_large_requests_on_three_gateways_count_at_most_a_five_message_plan_on_postgres(  # type: ignore[no-untyped-def]
    database_url: str, tmp_path, fake_openai
) -> None:
    """Each asks for up to 200,000 output tokens (13 messages) and the upstream writes 70,000.
    Spread over three gateways sharing PostgreSQL, they count no more than the plan's five."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(tmp_path),
            "WMGW_OPENAI_API_KEY": UPSTREAM_KEY,
            "WMGW_OPENAI_BASE_URL": f"{fake_openai.base_url}/v1",
        }
    )
    _, workspace_id, key = seed(settings.database_url, settings.server_secret, daily_limit=5)
    for _ in range(4):
        fake_openai.reply("x" * 50, completion_tokens=70_000, delay=0.5)
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_asgi(create_app(settings))) for _ in range(3)]

        async def burst() -> list[object]:
            calls = []
            for i in range(4):
                client = openai.AsyncOpenAI(
                    base_url=f"{urls[i % 3]}/api/openai/v1", api_key=key, max_retries=0
                )
                calls.append(
                    client.chat.completions.create(
                        model="openai/gpt-5-mini",
                        messages=[{"role": "user", "content": "write a lot"}],
                        max_completion_tokens=200_000,
                    )
                )
            return await asyncio.gather(*calls, return_exceptions=True)

        results = asyncio.run(burst())
    admitted = [r for r in results if not isinstance(r, Exception)]
    assert len(admitted) >= 1
    assert all(isinstance(r, openai.RateLimitError) for r in results if r not in admitted)
    [day] = run_db(database_url, lambda conn: quota.counters(conn, workspace_id, "messages"))
    assert day["used"] <= 5 and day["reserved"] == 0
    assert sum(row["messages"] for row in run_db(database_url, usage.ledger_rows)) == day["used"]
