"""Every provider kind against an upstream that refuses, resets, stalls and sends garbage: what
the client sees, the fallback taken (or not, once output was sent), and the ledger's rows.

Each test runs the official `openai` SDK against a gateway whose provider points at a faulty
upstream (tests/fakes/faulty.py); `writingmate/echo` is the fallback, and always works."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from storage import usage
from tests.conftest import Gateway
from tests.fakes.faulty import FaultyUpstream, closed_port_url

FALLBACK = "writingmate/echo"
HELLO = [{"role": "user", "content": "hello"}]
KINDS = {
    "openai": ("openai/gpt-5-mini", "WMGW_OPENAI_BASE_URL", "/v1", "WMGW_OPENAI_API_KEY"),
    "anthropic": (
        "anthropic/claude-haiku-4.5",
        "WMGW_ANTHROPIC_BASE_URL",
        "",
        "WMGW_ANTHROPIC_API_KEY",
    ),
    "gemini": ("google/gemini-2.5-flash", "WMGW_GEMINI_BASE_URL", "", "WMGW_GEMINI_API_KEY"),
}
QUICK = {
    "WMGW_RETRIES": "1",
    "WMGW_RETRY_BASE_SECONDS": "0.01",
    "WMGW_FIRST_TOKEN_SECONDS": "0.6",
    "WMGW_STALL_SECONDS": "0.6",
    "WMGW_ANSWER_SECONDS": "0.6",
    "WMGW_BREAKER_FAILURES": "100",
    "WMGW_UPSTREAM_MAX_BODY_BYTES": str(1 << 20),
}


@pytest.fixture(scope="module", params=list(KINDS))
def upstream(request: pytest.FixtureRequest) -> Iterator[FaultyUpstream]:
    fake = FaultyUpstream(request.param, huge_bytes=2 << 20)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(upstream: FaultyUpstream) -> FaultyUpstream:
    upstream.reset()
    return upstream


def gateway_to(start_gateway: Callable[..., Gateway], kind: str, base_url: str) -> Gateway:
    _, variable, suffix, key = KINDS[kind]
    return start_gateway(env={**QUICK, variable: base_url + suffix, key: "upstream-key"})


@pytest.fixture
def gw(start_gateway: Callable[..., Gateway], fake: FaultyUpstream) -> Gateway:
    return gateway_to(start_gateway, fake.kind, str(fake.base_url))


def model_of(fake: FaultyUpstream) -> str:
    return KINDS[fake.kind][0]


def ask(gw: Gateway, model: str, stream: bool, **extra: Any) -> tuple[int, dict[str, str], Any]:
    """(status, headers, the answer: a completion's JSON, or a stream's text)"""
    body = {"model": model, "messages": HELLO, "stream": stream, **extra}
    with gw.http() as http:
        response = http.post("/chat/completions", json=body)
    payload = response.text if stream and response.status_code == 200 else response.json()
    return response.status_code, dict(response.headers), payload


def attempts_of(gw: Gateway, request_id: str) -> list[tuple[str, str, int | None, str | None]]:
    rows = gw.db(functools.partial(usage.attempt_rows, request_id=request_id))
    return [(r["model"], r["outcome"], r["http_status"], r["error_code"]) for r in rows]


def only_ledger_row(gw: Gateway) -> dict[str, Any]:
    [row] = gw.ledger()
    return row


BEFORE_OUTPUT = [
    # (fault scripted for each try, streamed?, status and code the client would see alone)
    (["reset", "reset"], False, 502, "upstream_error"),
    (["reset", "reset"], True, 502, "upstream_error"),
    (["stall", "stall"], False, 504, "upstream_timeout"),
    (["stall"], True, 504, "first_token_timeout"),  # no headers either: the first token is late
    (["slow_first_token"], True, 504, "first_token_timeout"),
    (["malformed_sse"], True, 502, "upstream_error"),
    (["garbage_json"], False, 502, "upstream_error"),
    (["huge_body"], False, 502, "upstream_error"),
    (["overloaded", "overloaded"], False, 503, "upstream_unavailable"),
    (["overloaded", "overloaded"], True, 503, "upstream_unavailable"),
]


@pytest.mark.parametrize(("faults", "streamed", "status", "code"), BEFORE_OUTPUT)
def test_a_failure_before_any_output_falls_back_and_only_the_fallback_is_metered(
    gw: Gateway, fake: FaultyUpstream, faults: list[str], streamed: bool, status: int, code: str
) -> None:
    fake.script(*faults)
    got, headers, answer = ask(gw, model_of(fake), streamed, models=[FALLBACK])
    assert got == 200
    assert headers["x-writingmate-model"] == FALLBACK
    assert headers["x-writingmate-attempts"] == str(len(faults) + 1)
    if streamed:
        assert f'"model":"{FALLBACK}"' in answer and "data: [DONE]" in answer
        assert "Hel" not in answer  # nothing of the failed upstream reached the client
    else:
        assert answer["model"] == FALLBACK
    row = only_ledger_row(gw)
    assert (row["model"], row["status"], row["messages"], row["attempts"]) == (
        FALLBACK,
        "completed",
        1,
        len(faults) + 1,
    )
    failed = [(model_of(fake), "failed", status, code)] * len(faults)
    assert attempts_of(gw, row["request_id"]) == [*failed, (FALLBACK, "served", 200, None)]


@pytest.mark.parametrize(("faults", "streamed", "status", "code"), BEFORE_OUTPUT)
def test_without_a_fallback_the_client_gets_the_upstreams_failure_and_is_charged_nothing(
    gw: Gateway, fake: FaultyUpstream, faults: list[str], streamed: bool, status: int, code: str
) -> None:
    fake.script(*faults)
    got, headers, answer = ask(gw, model_of(fake), streamed)
    assert (got, answer["error"]["code"]) == (status, code)
    assert headers["x-writingmate-messages-counted"] == "0"
    row = only_ledger_row(gw)
    assert (row["model"], row["messages"], row["attempts"]) == (model_of(fake), 0, len(faults))


def test_a_refused_connection_is_retried_then_falls_back(
    start_gateway: Callable[..., Gateway], upstream: FaultyUpstream
) -> None:
    gw = gateway_to(start_gateway, upstream.kind, closed_port_url())
    got, headers, answer = ask(gw, model_of(upstream), False, models=[FALLBACK])
    assert (got, answer["model"]) == (200, FALLBACK)
    row = only_ledger_row(gw)
    assert attempts_of(gw, row["request_id"]) == [
        (model_of(upstream), "failed", 503, "upstream_unavailable"),
        (model_of(upstream), "failed", 503, "upstream_unavailable"),
        (FALLBACK, "served", 200, None),
    ]


def test_a_429_is_retried_after_its_retry_after_on_the_same_model(
    gw: Gateway, fake: FaultyUpstream
) -> None:
    fake.script("rate_limited", "ok")
    started = time.monotonic()
    got, headers, answer = ask(gw, model_of(fake), False, models=[FALLBACK])
    assert time.monotonic() - started >= 1.0  # the upstream's retry-after: 1
    assert (got, answer["model"], headers["x-writingmate-attempts"]) == (200, model_of(fake), "2")
    assert answer["choices"][0]["message"]["content"] == "fine"
    row = only_ledger_row(gw)
    assert (row["model"], row["messages"], row["attempts"]) == (model_of(fake), 1, 2)


@pytest.mark.parametrize("fault", ["reset_mid_stream", "stall_after_output"])
def test_once_output_was_sent_there_is_no_silent_switch_the_stream_ends_with_an_error_event(
    gw: Gateway, fake: FaultyUpstream, fault: str
) -> None:
    fake.script(fault)
    client = gw.client()
    seen = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(
            model=model_of(fake), messages=HELLO, stream=True, extra_body={"models": [FALLBACK]}
        ):
            assert chunk.model == model_of(fake)
            seen.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "".join(seen) == "Hel"
    row = only_ledger_row(gw)
    assert (row["model"], row["status"], row["attempts"]) == (model_of(fake), "interrupted", 1)
    assert row["messages"] == 1  # what it produced is charged
    assert len(fake.requests) == 1


def test_a_healthy_upstream_answers_in_one_call_with_no_attempt_rows(
    gw: Gateway, fake: FaultyUpstream
) -> None:
    fake.script("ok", "ok")
    for streamed in (False, True):
        got, headers, _ = ask(gw, model_of(fake), streamed, models=[FALLBACK])
        assert (got, headers["x-writingmate-model"], headers["x-writingmate-attempts"]) == (
            200,
            model_of(fake),
            "1",
        )
    for row in gw.ledger():
        assert (row["model"], row["attempts"]) == (model_of(fake), 1)
        assert attempts_of(gw, row["request_id"]) == []
