"""Requests and tokens per minute per key, as a client of the gateway sees them: OpenAI's
x-ratelimit-* headers, and 429 rate_limit_error with a wait the official SDKs honour."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import redis
from sqlalchemy import event

from gateway.services import build_services
from gateway.settings import Settings
from storage import accounts
from storage.redis_buckets import PREFIX
from tests.conftest import SERVER_SECRET, Gateway, run_db, seed
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.services.redis import server_bin as redis_bin
from web.app import create_app

HELLO = [{"role": "user", "content": "hi"}]
RATE_HEADERS = {
    f"x-ratelimit-{part}-{unit}"
    for part in ("limit", "remaining", "reset")
    for unit in ("requests", "tokens")
}


def test_the_fourth_request_in_a_minute_is_429_and_the_headers_count_down(
    gateway: Gateway,
) -> None:
    client = gateway.client(gateway.new_key(rpm_limit=3))
    seen = [client.models.with_raw_response.list().headers for _ in range(3)]
    assert [h["x-ratelimit-limit-requests"] for h in seen] == ["3", "3", "3"]
    assert [h["x-ratelimit-remaining-requests"] for h in seen] == ["2", "1", "0"]
    assert seen[0]["x-ratelimit-reset-requests"] == "20s"  # one request drains in 20 s
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    error, headers = refused.value, refused.value.response.headers
    assert (error.type, error.code) == ("rate_limit_error", "rate_limit_exceeded")
    assert 19 <= int(headers["retry-after"]) <= 20
    assert 18_000 < int(headers["retry-after-ms"]) <= 20_000
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-limit-tokens" not in headers  # the key has no token limit


def test_the_openai_sdk_with_its_default_retries_waits_and_then_succeeds(
    gateway: Gateway,
) -> None:
    key = gateway.new_key(rpm_limit=60)  # one more request every second once the minute is used

    async def use_the_minute() -> int:
        async with gateway.async_client(key) as client:
            calls = [client.models.list() for _ in range(60)]
            results = await asyncio.gather(*calls, return_exceptions=True)
        return sum(not isinstance(r, Exception) for r in results)

    assert asyncio.run(use_the_minute()) == 60
    with pytest.raises(openai.RateLimitError) as refused:
        gateway.client(key).models.list()
    wait_ms = int(refused.value.response.headers["retry-after-ms"])
    assert 0 < wait_ms <= 1000
    raw = gateway.client(key, max_retries=2).models.with_raw_response.list()
    assert raw.retries_taken >= 1 and raw.http_response.status_code == 200


def test_tokens_per_minute_refuse_a_request_whose_estimate_does_not_fit(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    client = gateway.client(gateway.new_key(tpm_limit=1000))
    fake_openai.reply("long", prompt_tokens=700, completion_tokens=100)
    first = client.chat.completions.with_raw_response.create(
        model="openai/gpt-5-mini", messages=HELLO
    )
    assert first.headers["x-ratelimit-limit-tokens"] == "1000"
    assert "x-ratelimit-limit-requests" not in first.headers
    calls = len(fake_openai.requests)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="openai/gpt-5-mini", messages=HELLO, max_tokens=300)
    headers = refused.value.response.headers
    assert refused.value.code == "rate_limit_exceeded"
    assert 150 <= int(headers["x-ratelimit-remaining-tokens"]) < 300  # 800 used, a few drained
    assert 1 <= int(headers["retry-after"]) <= 8  # ~120 tokens to drain at 1000 a minute
    assert len(fake_openai.requests) == calls  # refused before the upstream call


def test_tokens_not_used_are_given_back(gateway: Gateway) -> None:
    """Each request reserves ~920 tokens of 1000 and uses a handful: without the give-back,
    the second could not start for most of a minute."""
    client = gateway.client(gateway.new_key(tpm_limit=1000))
    remaining = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(
            model="writingmate/echo", messages=HELLO, max_tokens=900
        )
        remaining.append(int(raw.headers["x-ratelimit-remaining-tokens"]))
    assert all(50 <= left < 100 for left in remaining), remaining


def test_a_request_larger_than_the_whole_token_limit_is_refused_for_good(gateway: Gateway) -> None:
    client = gateway.client(gateway.new_key(tpm_limit=1000), max_retries=2)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="writingmate/echo", messages=HELLO, max_tokens=5000)
    headers = refused.value.response.headers
    assert headers["x-should-retry"] == "false" and "retry-after" not in headers
    assert "Request too large" in refused.value.message
    assert headers["x-ratelimit-remaining-tokens"] == "1000"  # nothing was taken


def test_errors_after_authentication_carry_the_headers_too(gateway: Gateway) -> None:
    client = gateway.client(gateway.new_key(rpm_limit=10))
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("nope/nope")
    assert missing.value.response.headers["x-ratelimit-remaining-requests"] == "9"


def test_a_plan_default_applies_to_its_keys_and_a_key_of_its_own_overrides_it(
    gateway: Gateway,
) -> None:
    gateway.db(lambda conn: accounts.set_plan_key_limits(conn, "team", 5, 50_000))
    plain = gateway.client(gateway.new_key()).models.with_raw_response.list().headers
    own = gateway.client(gateway.new_key(rpm_limit=7)).models.with_raw_response.list().headers
    assert (plain["x-ratelimit-limit-requests"], plain["x-ratelimit-limit-tokens"]) == (
        "5",
        "50000",
    )
    assert own["x-ratelimit-limit-requests"] == "7"
    assert plain["x-ratelimit-remaining-tokens"] == "50000"  # listing models takes no tokens


@pytest.fixture
def counted(tmp_path: Path, migrated_template: Path) -> Iterator[tuple[str, Settings, list[str]]]:
    """A gateway whose every SQL statement, on the metering writer (where rate limits run) and
    on the request engine, is recorded: (its API URL, settings, the statements)."""
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    environ = {"WMGW_DATA_DIR": str(tmp_path), "WMGW_SERVER_SECRET": SERVER_SECRET}
    settings = Settings.from_env(environ)
    services = build_services(settings)
    statements: list[str] = []
    # The writer runs its statements on the driver's cursor, past SQLAlchemy's events, on its
    # thread or (SQLite) on the loop.
    writer = services.meter.writer
    for engine in (writer.engine, *([writer.loop_writes.engine] if writer.loop_writes else [])):
        event.listen(
            engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(statements.append)
        )
    event.listen(
        services.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_rest: statements.append(sql),
    )
    with serve_asgi(create_app(settings, services)) as url:
        yield f"{url}/api/openai/v1", settings, statements


def test_a_key_without_limits_sends_no_headers_and_costs_no_statement(counted) -> None:  # type: ignore[no-untyped-def]
    base_url, settings, statements = counted
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
    client.models.list()  # the key and its workspace are looked up, then cached
    statements.clear()
    for _ in range(5):
        headers = client.models.with_raw_response.list().headers
        assert not RATE_HEADERS & set(headers)
        headers = client.chat.completions.with_raw_response.create(
            model="writingmate/echo", messages=HELLO
        ).headers
        assert not RATE_HEADERS & set(headers)
    assert statements  # the chats were metered: the hook sees the writer
    assert not [s for s in statements if "rate_limits" in s]


def test_a_key_with_limits_runs_its_decisions_on_the_metering_writer(counted) -> None:  # type: ignore[no-untyped-def]
    """The check above would pass if nothing were counted at all."""
    base_url, settings, statements = counted
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    key_id = key.split(".")[1]
    run_db(settings.database_url, lambda conn: accounts.set_key_limits(conn, key_id, 100, None))
    httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {key}"})
    assert [s for s in statements if "UPDATE rate_limits" in s]


@pytest.mark.skipif(redis_bin() is None, reason="redis-server is not installed")
def test_with_redis_the_limits_hold_and_a_key_without_limits_leaves_nothing_there(
    start_gateway, redis_server: str
) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(env={"REDIS_URL": redis_server})
    gateway.client().models.list()  # the seeded key has no limits
    limited = gateway.new_key(rpm_limit=2, tpm_limit=1000)
    client = gateway.client(limited)
    raw = client.chat.completions.with_raw_response.create(
        model="writingmate/echo", messages=HELLO, max_tokens=900
    )
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert 50 <= int(raw.headers["x-ratelimit-remaining-tokens"]) < 100
    # The second reserves as much again: only possible because the first gave its unused back.
    client.chat.completions.create(model="writingmate/echo", messages=HELLO, max_tokens=900)
    with pytest.raises(openai.RateLimitError):
        client.models.list()
    stored = redis.Redis.from_url(redis_server).keys(f"{PREFIX}*")
    ids = {key.decode().removeprefix(PREFIX).split(":")[0] for key in stored}
    assert limited.split(".")[1] in ids and gateway.key.split(".")[1] not in ids
