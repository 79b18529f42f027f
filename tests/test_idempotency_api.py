"""`Idempotency-Key` through one gateway, with the official OpenAI SDK and plain HTTP: a retry
gets the first answer and is charged once, however and whenever it comes."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.audio_samples import tone
from tests.conftest import Gateway, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream

ECHO = "writingmate/echo"
UPSTREAM_MODEL = "openai/gpt-5-mini"
HELLO = [{"role": "user", "content": "Hello there"}]


def new_key() -> str:
    return f"retry-{secrets.token_hex(8)}"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def counting_client(gateway: Gateway, sent: list[httpx.Request], **options: Any) -> openai.OpenAI:
    """An SDK client whose every HTTP attempt (retries included) is appended to `sent`."""
    http = httpx.Client(event_hooks={"request": [sent.append]})
    return gateway.client(http_client=http, **options)


def charged(gateway: Gateway) -> int:
    return sum(row["messages"] for row in gateway.ledger())


def assert_refused(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["x-should-retry"] == "false"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "Idempotency-Key",
        code,
    )
    return error


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


# ---- the same key for another request -------------------------------------------------------


def test_the_same_key_with_another_body_is_a_409_the_sdk_does_not_retry(
    gateway: Gateway,
) -> None:
    key = new_key()
    gateway.client().chat.completions.create(model=ECHO, messages=HELLO, extra_headers=keyed(key))
    sent: list[httpx.Request] = []
    client = counting_client(gateway, sent, max_retries=2)
    other = [{"role": "user", "content": "Something else"}]
    with pytest.raises(openai.ConflictError) as caught:
        client.chat.completions.create(model=ECHO, messages=other, extra_headers=keyed(key))
    assert_refused(caught.value.response, "idempotency_key_reused")
    assert len(sent) == 1
    assert len(gateway.ledger()) == 1


def test_the_same_key_on_another_endpoint_or_workspace_is_another_request(
    gateway: Gateway,
) -> None:
    key = new_key()
    with gateway.http() as http:
        http.post("/chat/completions", json={"model": ECHO, "messages": HELLO}, headers=keyed(key))
        elsewhere = http.post(
            "/completions", json={"model": ECHO, "prompt": "Hello"}, headers=keyed(key)
        )
        other_workspace = http.post(
            "/chat/completions",
            json={"model": ECHO, "messages": HELLO},
            headers={**keyed(key), "x-writingmate-workspace": gateway.workspace_id},
        )
    assert_refused(elsewhere, "idempotency_key_reused")
    assert_refused(other_workspace, "idempotency_key_reused")


def test_keys_belong_to_the_developer_key_that_sent_them(gateway: Gateway) -> None:
    key = new_key()
    first = gateway.client().chat.completions.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    second = gateway.client(gateway.new_key()).chat.completions.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    assert first.id != second.id and len(gateway.ledger()) == 2


@pytest.mark.parametrize("value", ["", "k" * 256, "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(gateway: Gateway, value: str) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions",
            json={"model": ECHO, "messages": HELLO},
            headers={"Idempotency-Key": value},
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert response.headers["x-request-id"].startswith("req_")
    assert gateway.ledger() == []


def test_a_key_with_a_bad_developer_key_is_a_plain_401(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/chat/completions",
        json={"model": ECHO, "messages": HELLO},
        headers={"Authorization": "Bearer wm_v2.nope", **keyed(new_key())},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_body_size_limit_applies_first(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(env={"WMGW_MAX_BODY_BYTES": "1000"})
    big = b'{"model": "writingmate/echo", "messages": [], "pad": "' + b"x" * 2000 + b'"}'

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield big[:500]
        yield big[500:]

    with gateway.http() as http:
        for content in (big, chunked()):
            response = http.post("/chat/completions", content=content, headers=keyed(new_key()))
            assert response.status_code == 413, response.text
            assert response.json()["error"]["code"] == "request_too_large"


# ---- streams ----------------------------------------------------------------------------------


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


# ---- multipart --------------------------------------------------------------------------------


def test_a_transcription_retried_with_a_new_multipart_boundary_is_the_same_request(
    gateway: Gateway,
) -> None:
    sent: list[httpx.Request] = []
    client, key, audio = counting_client(gateway, sent), new_key(), tone(2.5)
    answers = [
        client.audio.transcriptions.with_raw_response.create(
            model="writingmate/echo-transcribe",
            file=("tone.wav", audio, "audio/wav"),
            extra_headers=keyed(key),
        )
        for _ in range(2)
    ]
    boundaries = {request.headers["content-type"] for request in sent}
    assert len(boundaries) == 2
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert answers[1].parse().text == answers[0].parse().text
    assert len(gateway.ledger()) == 1


def test_another_file_under_the_same_key_is_a_409(gateway: Gateway) -> None:
    client, key = gateway.client(), new_key()
    for seconds, fails in ((2.5, False), (3.0, True)):
        call = client.audio.transcriptions.create
        if not fails:
            call(model="writingmate/echo-transcribe", file=tone(seconds), extra_headers=keyed(key))
            continue
        with pytest.raises(openai.ConflictError):
            call(model="writingmate/echo-transcribe", file=tone(seconds), extra_headers=keyed(key))
