"""The plan's daily message limit: what a request can cost is reserved before the upstream
call, atomically, and settled to what it used."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openai
import pytest

from storage import accounts, quota
from storage.usage_reports import usage_by
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
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


def day_totals(gateway: Gateway) -> tuple[int, int]:
    """The workspace's messages used and reserved today."""
    rows = gateway.db(lambda conn: quota.counters(conn, gateway.workspace_id, "messages"))
    [day] = rows
    return day["used"], day["reserved"]


def test_a_plan_without_a_limit_counts_every_request_and_holds_nothing_after(
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
    assert day_totals(gateway) == (20, 0)
    assert len(gateway.ledger()) == 20


def test_a_request_reserves_its_whole_output_and_gives_back_what_it_did_not_use(
    start_gateway,
    fake_openai: FakeOpenAIUpstream,  # type: ignore[no-untyped-def]
) -> None:
    """gpt-5-mini may write 128,000 tokens: 9 messages with the prompt, while it runs."""
    gateway: Gateway = start_gateway(daily_limit=100)
    fake_openai.reply("slow", chunk_delay=0.3, chunks=["a", "b", "c"])
    client = gateway.client()
    stream = client.chat.completions.create(model="openai/gpt-5-mini", messages=HELLO, stream=True)
    first = next(iter(stream))
    assert first.choices[0].delta is not None
    assert day_totals(gateway) == (0, 9)
    list(stream)
    assert day_totals(gateway) == (1, 0)


def test_four_concurrent_large_requests_on_a_five_message_plan_count_at_most_five(
    start_gateway,
    fake_openai: FakeOpenAIUpstream,  # type: ignore[no-untyped-def]
) -> None:
    """Each asks for up to 200,000 output tokens (13 messages). The first is admitted with
    its allowance lowered to what fits; the others find nothing left while it runs."""
    gateway: Gateway = start_gateway(daily_limit=5)
    for _ in range(4):
        fake_openai.reply("x" * 50, completion_tokens=70_000, delay=0.5)

    async def burst() -> list[object]:
        client = gateway.async_client()
        calls = [
            client.chat.completions.with_raw_response.create(
                model="openai/gpt-5-mini", messages=HELLO, max_completion_tokens=200_000
            )
            for _ in range(4)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await client.close()
        return results

    results = asyncio.run(burst())
    admitted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert (len(admitted), len(refused)) == (1, 3)
    lowered = int(admitted[0].headers["x-writingmate-max-tokens"])  # type: ignore[union-attr]
    [sent] = [r.body for r in fake_openai.requests]
    assert sent["max_completion_tokens"] == lowered < 5 * 16_000
    # While the first held the limit, the others were told to retry.
    assert refused[0].response.headers["x-should-retry"] == "true"  # type: ignore[union-attr]
    waits = refused[0].response.headers  # type: ignore[union-attr]
    assert (waits["retry-after"], waits["retry-after-ms"]) == ("1", "1000")
    used, reserved = day_totals(gateway)
    assert used <= 5 and reserved == 0
    assert sum(row["messages"] for row in gateway.ledger()) == used


def test_the_last_message_of_the_day_caps_the_answer_to_fit_it(
    start_gateway,
    fake_openai: FakeOpenAIUpstream,  # type: ignore[no-untyped-def]
) -> None:
    gateway: Gateway = start_gateway(daily_limit=2)
    client = gateway.client()
    client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-5-mini", messages=HELLO
    )
    allowance = int(raw.headers["x-writingmate-max-tokens"])
    assert 15_000 < allowance < 16_000  # one message, less the prompt's estimate
    assert fake_openai.requests[-1].body["max_completion_tokens"] == allowance
    assert raw.headers["x-writingmate-messages-remaining"] == "0"


def test_a_prompt_that_cannot_fit_what_is_left_is_refused_before_the_upstream(
    start_gateway,
    fake_openai: FakeOpenAIUpstream,  # type: ignore[no-untyped-def]
) -> None:
    gateway: Gateway = start_gateway(daily_limit=2)
    huge = [{"role": "user", "content": "word " * 40_000}]  # about 67,000 tokens estimated
    with pytest.raises(openai.RateLimitError) as refused:
        gateway.client().chat.completions.create(model="openai/gpt-5-mini", messages=huge)
    assert refused.value.code == "insufficient_quota"
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert "needs at least 5" in refused.value.message
    assert fake_openai.requests == []


def test_every_answer_says_when_the_daily_window_resets(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=3)
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="writingmate/echo", messages=HELLO
    )
    reset = datetime.fromisoformat(raw.headers["x-writingmate-messages-reset"])
    now = datetime.now(UTC)
    assert (reset.hour, reset.minute, reset.utcoffset()) == (0, 0, timedelta(0))
    assert timedelta(0) < reset - now <= timedelta(days=1)


def test_a_workspace_in_another_time_zone_resets_at_its_own_midnight(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=3)
    gateway.db(lambda conn: accounts.set_time_zone(conn, gateway.workspace_id, "Asia/Tokyo"))
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="writingmate/echo", messages=HELLO
    )
    reset = datetime.fromisoformat(raw.headers["x-writingmate-messages-reset"])
    assert reset.utcoffset() == timedelta(hours=9) and (reset.hour, reset.minute) == (0, 0)
    [row] = gateway.ledger()
    assert row["quota_day"] == datetime.now(ZoneInfo("Asia/Tokyo")).date()
