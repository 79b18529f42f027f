"""`Idempotency-Key` through one gateway, with the official OpenAI SDK and plain HTTP: a retry
gets the first answer and is charged once, however and whenever it comes, unless the first
answer was not kept (a server error, an answer too large to keep, an expired key)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.idempotency_helpers import (
    ECHO,
    HELLO,
    UPSTREAM_MODEL,
    assert_refused,
    charged,
    counting_client,
    keyed,
    new_key,
)

# ---- a retry gets the first answer ----------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_is_charged_once(
    gateway: Gateway,
) -> None:
    client, key = gateway.client(), new_key()
    first = client.chat.completions.with_raw_response.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    retry = client.chat.completions.with_raw_response.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    assert retry.parse().id == first.parse().id
    assert retry.parse().choices[0].message.content == "Hello there"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]
    assert retry.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert row["request_id"] == first.headers["x-request-id"]


def test_requests_without_the_header_each_run(gateway: Gateway) -> None:
    client = gateway.client()
    ids = {client.chat.completions.create(model=ECHO, messages=HELLO).id for _ in range(2)}
    assert len(ids) == 2 and len(gateway.ledger()) == 2


def test_the_sdk_retrying_after_its_timeout_gets_the_answer_the_upstream_gave_once(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    """The network blip the header exists for: the first attempt's answer comes after the
    client gave up on it; the SDK's retry gets that answer instead of a second charge."""
    fake_openai.reply("Slow but sure", delay=1.5)
    sent: list[httpx.Request] = []
    client = counting_client(gateway, sent, max_retries=2, timeout=1.0)
    raw = client.chat.completions.with_raw_response.create(
        model=UPSTREAM_MODEL, messages=HELLO, extra_headers=keyed(new_key())
    )
    assert raw.parse().choices[0].message.content == "Slow but sure"
    assert raw.headers["idempotent-replayed"] == "true"
    assert len(sent) >= 2
    assert len(fake_openai.calls) == 1
    assert len(gateway.ledger()) == 1 and charged(gateway) == 1


def test_ten_concurrent_requests_with_one_key_reach_the_upstream_once(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Only once", delay=0.5)
    key = new_key()

    async def burst() -> list[Any]:
        client = gateway.async_client()
        calls = [
            client.chat.completions.with_raw_response.create(
                model=UPSTREAM_MODEL, messages=HELLO, extra_headers=keyed(key)
            )
            for _ in range(10)
        ]
        try:
            return await asyncio.gather(*calls)
        finally:
            await client.close()

    answers = asyncio.run(burst())
    assert len({raw.http_response.content for raw in answers}) == 1
    assert sum(raw.headers.get("idempotent-replayed") == "true" for raw in answers) == 9
    assert len(fake_openai.calls) == 1
    assert len(gateway.ledger()) == 1


def test_a_waiting_retry_whose_client_gives_up_leaves_the_first_to_finish(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Patience", delay=1.5)
    body = {"model": UPSTREAM_MODEL, "messages": HELLO}
    headers = {"Authorization": f"Bearer {gateway.key}", **keyed(new_key())}

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
            first = asyncio.create_task(http.post("/chat/completions", json=body, headers=headers))
            await asyncio.sleep(0.3)
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/chat/completions", json=body, headers=headers, timeout=0.3)
            return await first, await http.post("/chat/completions", json=body, headers=headers)

    first, retry = asyncio.run(scenario())
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true" and retry.content == first.content
    assert len(fake_openai.calls) == 1 and len(gateway.ledger()) == 1


def test_a_deterministic_error_is_replayed(gateway: Gateway) -> None:
    key, body = new_key(), {"model": "writingmate/no-such-model", "messages": HELLO}
    with gateway.http() as http:
        first = http.post("/chat/completions", json=body, headers=keyed(key))
        retry = http.post("/chat/completions", json=body, headers=keyed(key))
    assert first.status_code == retry.status_code == 404
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"


# ---- answers that are not kept ----------------------------------------------------------------


def test_a_server_error_is_not_kept_and_the_sdk_retry_runs_again(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(500)
    fake_openai.reply("Second time lucky")
    sent: list[httpx.Request] = []
    client = counting_client(gateway, sent, max_retries=1)
    raw = client.chat.completions.with_raw_response.create(
        model=UPSTREAM_MODEL, messages=HELLO, extra_headers=keyed(new_key())
    )
    assert raw.parse().choices[0].message.content == "Second time lucky"
    assert "idempotent-replayed" not in raw.headers
    assert len(sent) == 2 and len(fake_openai.requests) == 2
    assert [row["status"] for row in gateway.ledger()] == ["upstream_error", "completed"]
    assert charged(gateway) == 1


def test_an_answer_over_the_kept_size_is_refused_on_retry(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(env={"WMGW_IDEMPOTENCY_MAX_RESPONSE_BYTES": "64"})
    key, body = new_key(), {"model": ECHO, "messages": HELLO}
    with gateway.http() as http:
        first = http.post("/chat/completions", json=body, headers=keyed(key))
        retry = http.post("/chat/completions", json=body, headers=keyed(key))
    assert first.status_code == 200 and len(first.content) > 64
    assert_refused(retry, "idempotency_response_too_large")
    assert len(gateway.ledger()) == 1


def test_an_expired_key_is_a_new_key(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(env={"WMGW_IDEMPOTENCY_TTL_SECONDS": "1"})
    client, key = gateway.client(), new_key()
    first = client.chat.completions.create(model=ECHO, messages=HELLO, extra_headers=keyed(key))
    time.sleep(1.1)
    other = [{"role": "user", "content": "A new request"}]
    again = client.chat.completions.create(model=ECHO, messages=other, extra_headers=keyed(key))
    assert again.id != first.id and again.choices[0].message.content == "A new request"
