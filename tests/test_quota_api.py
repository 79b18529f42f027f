"""The plan's daily message limit: checked before the upstream call, atomically."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import openai
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from storage import usage
from storage.usage_reports import usage_by
from tests.conftest import SERVER_SECRET, Gateway, seed, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.usage_ledger import period_today

HELLO = [{"role": "user", "content": "hi"}]


def test_remaining_messages_header_counts_down(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=3)
    client = gateway.client()
    seen = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(
            model="writingmate/echo", messages=HELLO
        )
        seen.append(raw.headers["x-writingmate-messages-remaining"])
    assert seen == ["2", "1", "0"]


def test_exhausted_limit_is_429_insufficient_quota_without_calling_upstream(
    start_gateway,
    fake_openai: FakeOpenAIUpstream,  # type: ignore[no-untyped-def]
) -> None:
    gateway: Gateway = start_gateway(daily_limit=1)
    client = gateway.client()
    client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="openai/gpt-5-mini", messages=HELLO)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert fake_openai.requests == []


def test_a_big_request_counts_several_messages(start_gateway, fake_openai) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=10)
    fake_openai.reply("long", prompt_tokens=40_000, completion_tokens=100)
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="openai/gpt-5-mini", messages=HELLO
    )
    assert raw.headers["x-writingmate-messages-counted"] == "3"
    assert raw.headers["x-writingmate-messages-remaining"] == "7"


def test_concurrent_requests_never_pass_the_limit(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=10)

    async def burst() -> list[object]:
        client = gateway.async_client()
        calls = [
            client.chat.completions.create(model="writingmate/echo", messages=HELLO)
            for _ in range(40)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await client.close()
        return results

    results = asyncio.run(burst())
    admitted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(admitted) == 10 and len(refused) == 30
    report = gateway.db(lambda conn: usage_by(conn, "day", period_today(), gateway.workspace_id))
    assert report[0]["messages"] == 10


def test_a_plan_without_a_limit_counts_every_request_and_holds_no_reservation(
    gateway: Gateway,
) -> None:
    async def burst() -> None:
        client = gateway.async_client()
        calls = [
            client.chat.completions.with_raw_response.create(
                model="writingmate/echo", messages=HELLO
            )
            for _ in range(20)
        ]
        for raw in await asyncio.gather(*calls):
            assert raw.headers["x-writingmate-messages-counted"] == "1"
            assert "x-writingmate-messages-remaining" not in raw.headers
        await client.close()

    asyncio.run(burst())
    [day] = gateway.db(lambda conn: usage.daily_totals(conn, gateway.workspace_id))
    assert (day["used"], day["reserved"]) == (20, 0)
    assert len(gateway.ledger()) == 20


def day_totals(gateway: Gateway) -> tuple[int, int]:
    [day] = gateway.db(lambda conn: usage.daily_totals(conn, gateway.workspace_id))
    return day["used"], day["reserved"]


def test_far_from_the_limit_a_worker_keeps_one_spare_message_for_the_next_request(
    start_gateway,  # type: ignore[no-untyped-def]
) -> None:
    gateway: Gateway = start_gateway(daily_limit=1000)
    client = gateway.client()
    seen = [
        client.chat.completions.with_raw_response.create(
            model="writingmate/echo", messages=HELLO
        ).headers["x-writingmate-messages-remaining"]
        for _ in range(3)
    ]
    assert seen == ["999", "998", "997"]  # the spare is not counted as used
    assert day_totals(gateway) == (3, 1)


def test_an_unused_spare_is_given_back(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=1000, env={"WMGW_QUOTA_SPARE_SECONDS": "0.2"})
    gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
    assert day_totals(gateway) == (1, 1)
    assert wait_for(lambda: day_totals(gateway) == (1, 0))


def test_near_the_limit_no_spare_is_kept(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=17)  # a spare must leave 16 besides it
    client = gateway.client()
    for _ in range(2):
        client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    assert day_totals(gateway) == (2, 0)


def test_spares_are_given_back_when_the_gateway_stops(
    tmp_path: Path, migrated_template: Path
) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    settings = Settings.from_env(
        {"WMGW_DATA_DIR": str(tmp_path), "WMGW_SERVER_SECRET": SERVER_SECRET}
    )
    user_id, workspace_id, key = seed(
        settings.database_url, settings.server_secret, daily_limit=1000
    )
    with serve_asgi(create_app(settings)) as url:
        gateway = Gateway(f"{url}/api/openai/v1", key, settings, user_id, workspace_id)
        gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
        assert day_totals(gateway) == (1, 1)
    assert day_totals(gateway) == (1, 0)
