"""`Idempotency-Key` on streamed chat completions: a retried stream replays the same events
(read by the SDK like the first), a keyed stream still flows chunk by chunk, and a stream its
client left is refused on retry rather than run twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from tests.conftest import Gateway, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.idempotency_helpers import ECHO, HELLO, UPSTREAM_MODEL, assert_refused, keyed, new_key


def stream_text(gateway: Gateway, key: str) -> httpx.Response:
    body = {"model": ECHO, "messages": HELLO, "stream": True}
    with gateway.http() as http:
        return http.post("/chat/completions", json=body, headers=keyed(key))


def test_a_retried_stream_replays_the_same_events(gateway: Gateway) -> None:
    key = new_key()
    first, retry = stream_text(gateway, key), stream_text(gateway, key)
    assert retry.headers["content-type"].startswith("text/event-stream")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.text == first.text and retry.text.endswith("data: [DONE]\n\n")
    assert len(gateway.ledger()) == 1


def test_the_sdk_reads_a_replayed_stream_like_the_first(gateway: Gateway) -> None:
    key = new_key()
    streams = [
        list(
            gateway.client().chat.completions.create(
                model=ECHO, messages=HELLO, stream=True, extra_headers=keyed(key)
            )
        )
        for _ in range(2)
    ]
    for chunks in streams:
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello there"
    assert [c.id for c in streams[0]] == [c.id for c in streams[1]]
    assert len(gateway.ledger()) == 1


def test_a_stream_still_flows_chunk_by_chunk_under_a_key(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("a b c d", chunk_delay=0.3)
    stream = gateway.client().chat.completions.create(
        model=UPSTREAM_MODEL, messages=HELLO, stream=True, extra_headers=keyed(new_key())
    )
    arrivals = [time.monotonic() for _ in stream]
    assert arrivals[-1] - arrivals[0] > 0.6


def test_a_stream_its_client_left_is_refused_on_retry_and_charged_once(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("a b c d e f g h", hang_after=3)
    key, body = new_key(), {"model": UPSTREAM_MODEL, "messages": HELLO, "stream": True}
    with (
        gateway.http() as http,
        http.stream("POST", "/chat/completions", json=body, headers=keyed(key)) as response,
    ):
        assert next(response.iter_lines()).startswith("data: ")
    assert wait_for(lambda: len(gateway.ledger()) == 1)
    with gateway.http() as http:
        retry = http.post("/chat/completions", json=body, headers=keyed(key))
    error = assert_refused(retry, "idempotency_key_interrupted")
    assert "new key" in error["message"]
    assert len(fake_openai.calls) == 1
    [row] = gateway.ledger()
    assert row["status"] == "client_disconnected"


def test_a_retry_during_a_stream_longer_than_the_lease_waits_for_it(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    """The heartbeat renews the running key's lease, so nobody takes it over meanwhile."""
    gateway = start_gateway(env={"WMGW_IDEMPOTENCY_LEASE_SECONDS": "0.6"})
    fake_openai.reply("a b c d e f", chunk_delay=0.4)
    key = new_key()

    async def first_then_retry() -> tuple[str, httpx.Response]:
        body = {"model": UPSTREAM_MODEL, "messages": HELLO, "stream": True}
        headers = {"Authorization": f"Bearer {gateway.key}", **keyed(key)}
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
            first = asyncio.create_task(http.post("/chat/completions", json=body, headers=headers))
            await asyncio.sleep(1.0)
            retry = await http.post("/chat/completions", json=body, headers=headers)
            return (await first).text, retry

    first, retry = asyncio.run(first_then_retry())
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.text == first
    assert len(fake_openai.calls) == 1 and len(gateway.ledger()) == 1
