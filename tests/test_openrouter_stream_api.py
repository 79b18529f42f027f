"""Streams from OpenRouter through the gateway, with the official openai SDK: keep-alive
comments, reasoning deltas, mid-stream errors and OpenRouter's HTTP errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from gateway.settings import Settings
from storage import usage
from tests.cli_runner import Wmgw
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed
from tests.fakes.openrouter_upstream import FakeOpenRouter
from tests.fakes.server import serve_asgi
from web.app import create_app

SAMPLE = Path(__file__).parent / "fixtures" / "openrouter-models.json"
MODEL = "deepseek/deepseek-chat-v3.1"
USER = [{"role": "user", "content": "Say hello"}]


@dataclass
class Routed:
    url: str  # .../api/openai/v1
    key: str
    settings: Settings

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url, api_key=self.key, max_retries=0)

    def ledger(self) -> list[dict]:
        return run_db(self.settings.database_url, usage.ledger_rows)


@pytest.fixture(scope="module")
def openrouter_server() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter(api_key=UPSTREAM_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def openrouter(openrouter_server: FakeOpenRouter) -> FakeOpenRouter:
    openrouter_server.reset()
    openrouter_server.api_key = UPSTREAM_KEY
    return openrouter_server


@pytest.fixture
def routed(tmp_path: Path, migrated_template: Path, openrouter: FakeOpenRouter) -> Iterator[Routed]:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    environ = {
        "WMGW_DATA_DIR": str(tmp_path),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        "WMGW_RETRIES": "0",  # each test scripts one answer per call
        "WMGW_OPENROUTER_API_KEY": UPSTREAM_KEY,
        "WMGW_OPENROUTER_BASE_URL": openrouter.base_url,
    }
    settings = Settings.from_env(environ)
    synced = Wmgw(settings).run("models", "sync-openrouter", "--file", str(SAMPLE))
    assert synced.exit_code == 0, synced.output
    _, _, key = seed(settings.database_url, settings.server_secret, None)
    with serve_asgi(create_app(settings)) as url:
        yield Routed(f"{url}/api/openai/v1", key, settings)


def raw_stream(routed: Routed, **body: object) -> tuple[httpx.Response, bytes]:
    with httpx.stream(
        "POST",
        f"{routed.url}/chat/completions",
        json={"model": MODEL, "messages": USER, "stream": True, **body},
        headers={"Authorization": f"Bearer {routed.key}"},
        timeout=30,
    ) as response:
        return response, response.read()


def test_keepalives_never_reach_the_client_and_usage_only_when_asked(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.reply(
        "Hello there friend", keepalives_before=3, keepalives_between=2, prompt_tokens=4
    )
    response, raw = raw_stream(routed)
    assert response.status_code == 200
    frames = [f for f in raw.decode().split("\n\n") if f]
    assert not any(f.startswith(":") for f in frames), frames
    assert b"OPENROUTER PROCESSING" not in raw
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert all("usage" not in c for c in chunks)  # not asked for: no usage at all
    assert len({c["id"] for c in chunks}) == 1
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == (
        "Hello there friend"
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    [request] = openrouter.requests
    assert request.path == "/api/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert request.headers["x-title"] == "Writingmate Gateway"
    assert request.body["model"] == MODEL
    assert request.body["stream"] is True
    assert request.body["stream_options"]["include_usage"] is True


def test_sdk_stream_with_usage_asked(routed: Routed, openrouter: FakeOpenRouter) -> None:
    openrouter.reply(
        "Hi you",
        keepalives_before=2,
        keepalives_between=1,
        prompt_tokens=11,
        completion_tokens=2,
        cached_tokens=3,
    )
    chunks = list(
        routed.client().chat.completions.create(
            model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len({c.id for c in chunks}) == 1
    assert all(c.model == MODEL for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi you"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (11, 2)
    assert last.usage.prompt_tokens_details.cached_tokens == 3
    [row] = routed.ledger()
    assert row["status"] == "completed"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (11, 2)


def test_usage_on_the_finish_chunk_is_not_sent_unasked(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.reply("Hi", usage_on_finish=True, prompt_tokens=5, completion_tokens=1)
    chunks = list(routed.client().chat.completions.create(model=MODEL, messages=USER, stream=True))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    [row] = routed.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (5, 1)


def test_reasoning_deltas_reach_the_client(routed: Routed, openrouter: FakeOpenRouter) -> None:
    openrouter.reply("Paris.", reasoning="The capital of France is Paris", keepalives_before=1)
    chunks = list(routed.client().chat.completions.create(model=MODEL, messages=USER, stream=True))
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks if c.choices
    )
    assert reasoning == "The capital of France is Paris"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Paris."


def test_mid_stream_error_is_an_api_error_and_the_row_is_interrupted(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.reply("one two three four", error_after=2, keepalives_between=1)
    received: list[str] = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in routed.client().chat.completions.create(
            model=MODEL, messages=USER, stream=True
        ):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two"
    assert "Provider disconnected" in raised.value.message
    [row] = routed.ledger()
    assert row["status"] == "interrupted"
    assert row["messages"] >= 1


def test_402_before_streaming_is_a_503_that_should_not_be_retried(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.fail(402)
    response, raw = raw_stream(routed)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-should-retry"] == "false"
    error = json.loads(raw)["error"]
    assert error["code"] == "upstream_insufficient_credit"
    assert "Insufficient credits" in error["message"]

    openrouter.fail(402)
    with pytest.raises(openai.InternalServerError) as raised:
        routed.client().chat.completions.create(model=MODEL, messages=USER, stream=True)
    assert raised.value.status_code == 503
    assert raised.value.code == "upstream_insufficient_credit"


def test_429_passes_on_retry_after_and_retry_after_ms(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as raised:
        routed.client().chat.completions.create(model=MODEL, messages=USER, stream=True)
    assert raised.value.status_code == 429
    assert raised.value.response.headers["retry-after"] == "2"
    assert raised.value.response.headers["retry-after-ms"] == "2000"
    assert "Rate limit exceeded" in raised.value.message


# OpenRouter's own accounting: its prices are not the client's to see.
UPSTREAM_ONLY = {"cost", "cost_details", "is_byok", "native_finish_reason", "provider"}


def keys_in(value: object) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def test_openrouters_own_fields_never_reach_a_stream(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.reply(
        "Hi you", cost=0.5, is_byok=True, native_finish_reason="end_turn", prompt_tokens=4
    )
    response, raw = raw_stream(routed, stream_options={"include_usage": True})
    assert response.status_code == 200
    frames = [f.removeprefix("data: ") for f in raw.decode().split("\n\n") if f]
    chunks = [json.loads(f) for f in frames if f != "[DONE]"]
    assert not keys_in(chunks) & UPSTREAM_ONLY
    assert chunks[-1]["usage"]["prompt_tokens"] == 4
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert b"0.5" not in raw and b"end_turn" not in raw


def test_openrouters_own_fields_never_reach_a_completion(
    routed: Routed, openrouter: FakeOpenRouter
) -> None:
    openrouter.reply("Hi you", cost=0.5, is_byok=True, native_finish_reason="end_turn")
    response = httpx.post(
        f"{routed.url}/chat/completions",
        json={"model": MODEL, "messages": USER},
        headers={"Authorization": f"Bearer {routed.key}"},
        timeout=30,
    )
    assert response.status_code == 200
    completion = response.json()
    assert not keys_in(completion) & UPSTREAM_ONLY
    assert completion["choices"][0]["message"]["content"] == "Hi you"
    assert completion["usage"]["total_tokens"] > 0
