"""Gateway processes share OpenRouter's list through the database: the process that finds it
missing or stale fetches and stores it; another serves what was stored without fetching it
again; two storing at once on PostgreSQL leave one whole list."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import ModelEntry
from gateway.list_sources import ListSource
from gateway.model_sync import SharedLists
from providers.http.client import HttpClient
from providers.openai_compatible import client as openai_compatible
from providers.openai_compatible.openrouter_models import catalog_rows
from storage import synced_models
from storage.engine import create_engine
from tests.fakes.openrouter_upstream import FakeOpenRouter
from tests.services.postgres import server_bin

KEY = "sk-or-v1-shared-list-test-key"
ROW = {
    "name": "openrouter",
    "kind": "openai_compatible",
    "base_url_env": "WMGW_OPENROUTER_BASE_URL",
    "api_key_env": "WMGW_OPENROUTER_API_KEY",
}


@pytest.fixture(scope="module")
def openrouter() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter(api_key=KEY)
    with fake.serve():
        yield fake


def slugs(published: list[list[ModelEntry]]) -> list[str]:
    return sorted(entry.slug for entry in published[-1])


async def rounds(database_url: str, base_url: str, intervals: list[float]) -> list[list]:
    """One round of a process per interval, one after the other, each with its own engine and
    client: what each published."""
    seen: list[list] = []
    for interval in intervals:
        engine = create_engine(database_url)
        http = HttpClient()
        env = {"WMGW_OPENROUTER_BASE_URL": base_url, "WMGW_OPENROUTER_API_KEY": KEY}
        source = ListSource("openrouter", openai_compatible.build(ROW, env, http), ("*",))
        seen.append([])
        process = SharedLists(engine, [source], interval, seen[-1].append)
        try:
            await process.round()
        finally:
            await http.aclose()
            await engine.dispose()
    return seen


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_template: Path, openrouter: FakeOpenRouter) -> str:
    openrouter.reset()
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


def test_a_list_stored_by_one_process_is_served_by_another_without_fetching_it_again(
    sqlite_url: str, openrouter: FakeOpenRouter
) -> None:
    first, second = asyncio.run(rounds(sqlite_url, openrouter.base_url, [3600, 3600]))
    assert openrouter.model_list.asked == 1
    assert "anthropic/claude-sonnet-4.5" in slugs(first)
    assert slugs(second) == slugs(first)


def test_a_sync_interval_of_zero_never_fetches_and_serves_what_was_stored(
    sqlite_url: str, openrouter: FakeOpenRouter
) -> None:
    [published] = asyncio.run(rounds(sqlite_url, openrouter.base_url, [0]))
    assert openrouter.model_list.asked == 0
    assert published == [[]]


@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed")
def test_two_processes_storing_the_list_at_once_on_postgres_leave_one_list(
    database_url: str, openrouter: FakeOpenRouter
) -> None:
    rows = catalog_rows({"data": openrouter.model_list.data}, "openrouter", ["*"])

    async def store_twice() -> list[dict]:
        """A stores the list; B starts storing it before A commits."""
        first, second = create_engine(database_url), create_engine(database_url)
        try:
            async with first.begin() as conn:
                await synced_models.replace(conn, "openrouter", rows)
                other = asyncio.create_task(store(second))
                await asyncio.sleep(0.3)  # B is under way, waiting on A
            await other
            async with first.connect() as conn:
                return await synced_models.all_rows(conn)
        finally:
            await first.dispose()
            await second.dispose()

    async def store(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await synced_models.replace(conn, "openrouter", rows)

    stored = asyncio.run(store_twice())
    assert sorted(row["slug"] for row in stored) == sorted(row["slug"] for row in rows)
