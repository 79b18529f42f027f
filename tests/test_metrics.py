"""`/metrics` tells an operator what users' requests did: requests by endpoint, model, provider
and status, latency and time to first token, tokens and messages metered, quota refusals,
upstream errors by provider and kind, open streams, fallbacks and circuit breakers; behind a
token when the server has one, and summed over gunicorn's workers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import REPO_ROOT
from tests.conftest import SERVER_SECRET, Gateway, seed, wait_for
from tests.fakes.faulty import FaultyUpstream, closed_port_url
from tests.offline_gateway import offline_gateway
from tests.services.gunicorn import gunicorn_gateway

ECHO = "writingmate/echo"
CLAUDE = "anthropic/claude-haiku-4.5"
GPT = "openai/gpt-4o-mini"
CHAT = "createChatCompletion"
HELLO = [{"role": "user", "content": "Hello there"}]
ANTHROPIC_KEY = "sk-ant-metrics-test"
METRICS_TOKEN = "metrics-token-0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(root: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{root}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Delta:
    """What the metrics moved by between `Delta(root)` and `.after()`."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.before = scrape(root)

    def after(self) -> Callable[..., float]:
        now = scrape(self.root)
        return lambda name, **labels: (
            value(now, name, **labels) - value(self.before, name, **labels)
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    fake = FaultyUpstream("anthropic")
    with fake.serve():
        yield fake


@pytest.fixture
def fake(upstream: FaultyUpstream) -> FaultyUpstream:
    upstream.reset()
    return upstream


@pytest.fixture(scope="module")
def gw(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: Path, upstream: FaultyUpstream
) -> Iterator[Gateway]:
    env = {
        "WMGW_RETRIES": "0",
        "WMGW_BREAKER_FAILURES": "1000",  # these failures must not open a breaker
        "WMGW_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "WMGW_ANTHROPIC_BASE_URL": str(upstream.base_url),
        "WMGW_OPENAI_API_KEY": "sk-openai-metrics-test",
        "WMGW_OPENAI_BASE_URL": f"{closed_port_url()}/v1",  # refuses every connection
    }
    with offline_gateway(tmp_path_factory.mktemp("data"), migrated_template, env) as running:
        yield running


def chat(gw: Gateway, model: str = ECHO, **extra: object) -> httpx.Response:
    with gw.http() as http:
        return http.post("/chat/completions", json={"model": model, "messages": HELLO, **extra})


def test_a_chat_and_a_stream_count_requests_latency_tokens_and_messages(gw: Gateway) -> None:
    delta = Delta(gw.root)
    answer = chat(gw)
    stream = chat(gw, stream=True, stream_options={"include_usage": True})
    moved = delta.after()

    served = {"endpoint": CHAT, "model": ECHO, "provider": "writingmate", "status": "200"}
    assert moved("wmgw_requests_total", **served) == 2
    usage = answer.json()["usage"]
    streamed = json.loads(stream.text.split("data: ")[-2])["usage"]
    prompt = usage["prompt_tokens"] + streamed["prompt_tokens"]
    completion = usage["completion_tokens"] + streamed["completion_tokens"]
    by_model = {"model": ECHO, "provider": "writingmate"}
    assert moved("wmgw_tokens_total", kind="prompt", **by_model) == prompt
    assert moved("wmgw_tokens_total", kind="completion", **by_model) == completion
    ids = {answer.headers["x-request-id"], stream.headers["x-request-id"]}
    counted = sum(row["messages"] for row in gw.ledger() if row["request_id"] in ids)
    assert counted > 0
    assert moved("wmgw_messages_total", **by_model) == counted
    latency = {"endpoint": CHAT, "provider": "writingmate"}
    assert moved("wmgw_request_duration_seconds_count", **latency) == 2
    assert moved("wmgw_time_to_first_token_seconds_count", **by_model) == 1
    assert value(scrape(gw.root), "wmgw_open_streams") == 0


def test_a_stream_counts_as_open_until_it_ends(gw: Gateway, fake: FaultyUpstream) -> None:
    fake.script("stall_after_output")  # some output, then nothing until the client leaves
    body = {"model": CLAUDE, "messages": HELLO, "stream": True}
    with gw.http() as http, http.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        # Held: a dropped iterator, once collected, closes the connection under the stream.
        chunks = response.iter_raw()
        next(chunks)
        assert value(scrape(gw.root), "wmgw_open_streams") == 1
    assert wait_for(lambda: value(scrape(gw.root), "wmgw_open_streams") == 0)


@pytest.mark.parametrize(
    ("fault", "stream", "kind"),
    [
        ("reset", False, "reset"),
        ("rate_limited", False, "429"),
        ("overloaded", False, "5xx"),
        ("reset_mid_stream", True, "reset"),
    ],
)
def test_an_upstream_failure_is_counted_by_provider_and_kind(
    gw: Gateway, fake: FaultyUpstream, fault: str, stream: bool, kind: str
) -> None:
    fake.script(fault)
    delta = Delta(gw.root)
    response = chat(gw, CLAUDE, stream=stream)
    moved = delta.after()
    assert moved("wmgw_upstream_errors_total", provider="anthropic", kind=kind) == 1
    assert (
        sum(  # once, whatever its kind
            moved("wmgw_upstream_errors_total", provider="anthropic", kind=other)
            for other in ("reset", "429", "5xx", "timeout", "refused", "other")
        )
        == 1
    )
    # A stream that failed after it began is counted with the failure's status, not 200.
    status = response.status_code if not stream else 502
    failed = {"endpoint": CHAT, "model": CLAUDE, "provider": "anthropic", "status": str(status)}
    assert moved("wmgw_requests_total", **failed) == 1


def test_an_upstream_that_refuses_connections_is_counted_as_refused(gw: Gateway) -> None:
    delta = Delta(gw.root)
    assert chat(gw, GPT).status_code == 503
    moved = delta.after()
    assert moved("wmgw_upstream_errors_total", provider="openai", kind="refused") == 1


def test_a_fallback_is_counted_from_the_model_asked_to_the_one_that_served(
    gw: Gateway, fake: FaultyUpstream
) -> None:
    fake.script("overloaded")
    delta = Delta(gw.root)
    answer = chat(gw, CLAUDE, models=[ECHO])
    assert answer.json()["model"] == ECHO
    moved = delta.after()
    assert moved("wmgw_fallbacks_total", from_model=CLAUDE, to_model=ECHO) == 1
    assert moved("wmgw_upstream_errors_total", provider="anthropic", kind="5xx") == 1
    served = {"endpoint": CHAT, "model": ECHO, "provider": "writingmate", "status": "200"}
    assert moved("wmgw_requests_total", **served) == 1


def test_a_quota_refusal_is_counted_by_the_limit_that_refused_it(
    start_gateway: Callable[..., Gateway],
) -> None:
    gw = start_gateway(daily_limit=0)
    delta = Delta(gw.root)
    refused = chat(gw)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "insufficient_quota"
    moved = delta.after()
    assert moved("wmgw_quota_refusals_total", unit="messages") == 1
    assert moved("wmgw_requests_total", endpoint=CHAT, model="", provider="", status="429") == 1


def test_a_breaker_that_opens_shows_open_by_key_id_never_by_key(
    start_gateway: Callable[..., Gateway], fake: FaultyUpstream
) -> None:
    gw = start_gateway(
        env={
            "WMGW_BREAKER_FAILURES": "2",
            "WMGW_BREAKER_COOL_DOWN_SECONDS": "60",
            "WMGW_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url),
        }
    )
    fake.script("overloaded", "overloaded")
    assert [chat(gw, CLAUDE).status_code for _ in range(2)] == [503, 503]
    assert chat(gw, CLAUDE).json()["error"]["code"] == "circuit_open"
    text = httpx.get(f"{gw.root}/metrics").text
    assert ANTHROPIC_KEY not in text
    samples = scrape(gw.root)
    key_id = hashlib.sha256(ANTHROPIC_KEY.encode()).hexdigest()[:16]
    breaker = {"provider": "anthropic", "key_id": key_id}
    assert value(samples, "wmgw_circuit_breaker_state", **breaker) == 1  # open
    assert value(samples, "wmgw_circuit_breaker_opens_total", **breaker) == 1


def test_the_metrics_token_is_required_when_the_server_has_one(
    start_gateway: Callable[..., Gateway],
) -> None:
    gw = start_gateway(env={"WMGW_METRICS_TOKEN": METRICS_TOKEN})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {gw.key}"}):
        refused = httpx.get(f"{gw.root}/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert refused.headers["x-request-id"]
    assert (
        "wmgw_requests_total"
        in httpx.get(
            f"{gw.root}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        ).text
    )


def test_metrics_are_open_without_a_token_and_outside_the_api(gw: Gateway) -> None:
    response = httpx.get(f"{gw.root}/metrics")
    assert response.status_code == 200 and response.headers["x-request-id"]
    assert httpx.get(f"{gw.base_url}/metrics").status_code in (401, 404)


def chats_until_every_worker_served(url: str, key: str, metrics: Path, workers: int) -> int:
    """Concurrent chats (new connections: any worker accepts them) until each worker has
    written metrics of its own; how many were sent."""
    sent = 0

    async def batch() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            body = {"model": ECHO, "messages": HELLO}
            answers = await asyncio.gather(
                *(client.post("/api/openai/v1/chat/completions", json=body) for _ in range(8))
            )
        assert {answer.status_code for answer in answers} == {200}

    while len(list(metrics.glob("counter_*.db"))) < workers and sent < 200:
        asyncio.run(batch())
        sent += 8
    assert len(list(metrics.glob("counter_*.db"))) == workers, "a worker served nothing"
    return sent


def test_every_gunicorn_worker_reports_the_counts_of_all_workers(
    migrated_template: Path, tmp_path: Path
) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    metrics = tmp_path / "metrics"
    env = {
        "WMGW_DATA_DIR": str(tmp_path),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "WMGW_VIDEO_WORKER": "0",
    }
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    _, _, key = seed(database_url, SERVER_SECRET.encode(), daily_limit=None)
    served_ok = {"endpoint": CHAT, "model": ECHO, "provider": "writingmate", "status": "200"}
    with gunicorn_gateway(env, tmp_path, workers=2) as served:
        sent = chats_until_every_worker_served(served.url, key, metrics, workers=2)
        for _ in range(4):  # new connections: either worker answers
            assert value(scrape(served.url), "wmgw_requests_total", **served_ok) == sent
        # A worker that dies leaves its counts, but no longer counts in live gauges.
        dead = served.worker_pids()[0]
        os.kill(dead, signal.SIGKILL)
        assert wait_for(lambda: not (metrics / f"gauge_livesum_{dead}.db").exists())
        samples = scrape(served.url)
        assert value(samples, "wmgw_requests_total", **served_ok) == sent
        assert value(samples, "wmgw_open_streams") == 0
    lines = [json.loads(line) for line in served.log.read_text().splitlines() if line[:1] == "{"]
    chats = [line for line in lines if line.get("endpoint") == CHAT]
    assert len(chats) == sent and {line["status"] for line in chats} == {200}


def test_ops_yaml_is_a_valid_openapi_31_document() -> None:
    document = yaml.safe_load((REPO_ROOT / "ops.yaml").read_text())
    validate(document)
    assert document["paths"]["/metrics"]["get"]["operationId"] == "handlers.metrics.scrape"
