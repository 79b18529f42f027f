"""Message pools as an operator sets them up with `wmgw pool`, and as developers in the
workspaces that share one then meet them through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai
import pytest

from gateway.settings import Settings
from storage import quota
from tests.conftest import run_db
from tests.fakes.server import serve_asgi
from web.app import create_app

HELLO = [{"role": "user", "content": "hi"}]


def team(wmgw, plan_limit: int | None) -> tuple[str, str, str, str]:  # type: ignore[no-untyped-def]
    """Two workspaces on one plan, a developer and a key in each."""
    limit = ["--daily-messages", str(plan_limit)] if plan_limit is not None else []
    wmgw("plan", "create", "appsumo", *limit)
    first = wmgw("workspace", "create", "One", "--plan", "appsumo")
    second = wmgw("workspace", "create", "Two", "--plan", "appsumo")
    wmgw("user", "create", "a@acme.test", "--workspace", first)
    wmgw("user", "create", "b@acme.test", "--workspace", second)
    return first, second, wmgw("key", "create", "a@acme.test"), wmgw("key", "create", "b@acme.test")


@contextmanager
def clients(wmgw, *keys: str) -> Iterator[list[openai.OpenAI]]:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({**wmgw.env, "WMGW_KEY_CACHE_SECONDS": "0"})
    with serve_asgi(create_app(settings)) as url:
        yield [
            openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
            for key in keys
        ]


def chat(client: openai.OpenAI) -> dict[str, str]:
    raw = client.chat.completions.with_raw_response.create(model="writingmate/echo", messages=HELLO)
    return dict(raw.headers)


def test_two_workspaces_share_a_pool_on_top_of_their_daily_limits(wmgw) -> None:  # type: ignore[no-untyped-def]
    first, second, key_a, key_b = team(wmgw, plan_limit=100)
    pool = wmgw("pool", "create", "acme", "--messages", "3")
    wmgw("pool", "attach", "acme", first, second)
    with clients(wmgw, key_a, key_b) as (a, b):
        assert chat(a)["x-writingmate-pool-remaining"] == "2"
        assert chat(b)["x-writingmate-pool-remaining"] == "1"
        headers = chat(a)
        assert (
            headers["x-writingmate-pool-remaining"],
            headers["x-writingmate-messages-remaining"],
        ) == (
            "0",
            "98",
        )
        with pytest.raises(openai.RateLimitError) as refused:
            chat(b)
        assert "message pool is used up" in refused.value.message
        assert "does not renew" in refused.value.message
        assert refused.value.response.headers["x-should-retry"] == "false"
    listed = wmgw("pool", "list")
    assert pool in listed and "acme" in listed
    [counter] = run_db(wmgw.env_database_url(), lambda conn: quota.counters(conn, pool))
    assert (counter["period"], counter["used"], counter["reserved"]) == ("total", 3, 0)


def test_a_request_must_fit_both_the_daily_limit_and_the_pool(wmgw) -> None:  # type: ignore[no-untyped-def]
    first, _, key_a, _ = team(wmgw, plan_limit=1)
    wmgw("pool", "create", "big", "--messages", "50", "--monthly")
    wmgw("pool", "attach", "big", first)
    with clients(wmgw, key_a) as (a,):
        assert chat(a)["x-writingmate-pool-remaining"] == "49"
        with pytest.raises(openai.RateLimitError) as refused:
            chat(a)
        assert "daily message limit" in refused.value.message


def test_a_pool_with_little_left_lowers_the_answer_to_fit_it(wmgw, fake_openai) -> None:  # type: ignore[no-untyped-def]
    first, _, key_a, _ = team(wmgw, plan_limit=None)
    wmgw("pool", "create", "small", "--messages", "2")
    wmgw("pool", "attach", "small", first)
    wmgw.env["WMGW_OPENAI_API_KEY"] = "sk-upstream-test-key"
    wmgw.env["WMGW_OPENAI_BASE_URL"] = f"{fake_openai.base_url}/v1"
    with clients(wmgw, key_a) as (a,):
        raw = a.chat.completions.with_raw_response.create(model="openai/gpt-5-mini", messages=HELLO)
    allowance = int(raw.headers["x-writingmate-max-tokens"])
    assert 31_000 < allowance < 32_000  # two messages, less the prompt
    assert fake_openai.requests[-1].body["max_completion_tokens"] == allowance


def test_a_monthly_pool_counts_this_month_and_can_be_resized(wmgw) -> None:  # type: ignore[no-untyped-def]
    first, _, key_a, _ = team(wmgw, plan_limit=None)
    pool = wmgw("pool", "create", "monthly", "--messages", "1", "--monthly")
    wmgw("pool", "attach", pool, first)
    with clients(wmgw, key_a) as (a,):
        chat(a)
        with pytest.raises(openai.RateLimitError) as refused:
            chat(a)
        assert "renews at the start of next month" in refused.value.message
        wmgw("pool", "resize", "monthly", "--messages", "5")
        assert chat(a)["x-writingmate-pool-remaining"] == "3"
        wmgw("pool", "detach", first)
        assert "x-writingmate-pool-remaining" not in chat(a)
    [counter] = run_db(wmgw.env_database_url(), lambda conn: quota.counters(conn, pool))
    assert len(counter["period"]) == 7  # YYYY-MM


def test_pool_commands_refuse_what_does_not_exist(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("pool", "create", "p", "--messages", "5")
    wmgw("pool", "create", "p", "--messages", "5", ok=False)
    wmgw("pool", "attach", "nosuch", "ws_x", ok=False)
    wmgw("pool", "attach", "p", "ws_nosuch", ok=False)
    wmgw("pool", "create", "q", "--messages", "-1", ok=False)


def test_an_operator_moves_a_workspace_day_to_its_time_zone(wmgw) -> None:  # type: ignore[no-untyped-def]
    first, _, key_a, _ = team(wmgw, plan_limit=5)
    wmgw("workspace", "set-time-zone", first, "Europe/Paris")
    wmgw("workspace", "set-time-zone", first, "Nowhere/Atlantis", ok=False)
    with clients(wmgw, key_a) as (a,):
        reset = chat(a)["x-writingmate-messages-reset"]
    assert reset.endswith(("+01:00", "+02:00")) and "T00:00:00" in reset
