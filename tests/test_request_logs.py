"""Every request leaves one line in the server's log (logger `wmgw.requests`) with what an
operator looks for: its id (and the client's own `X-Request-Id`), workspace and key id,
endpoint, model, provider, status, duration, tokens, messages and fallbacks; each upstream
failure leaves one more. As JSON (the default) each is one object a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import LogSettings
from tests.conftest import Gateway, wait_for
from tests.fakes.faulty import closed_port_url
from tests.offline_gateway import offline_gateway
from web import logs

ECHO = "writingmate/echo"
GPT = "openai/gpt-4o-mini"
CHAT = "createChatCompletion"
HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Gateway]:
    env = {
        "WMGW_RETRIES": "0",
        "WMGW_OPENAI_API_KEY": "sk-openai-logs-test",
        "WMGW_OPENAI_BASE_URL": f"{closed_port_url()}/v1",  # refuses every connection
    }
    with offline_gateway(tmp_path_factory.mktemp("data"), migrated_template, env) as running:
        yield running


@pytest.fixture
def kept(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="wmgw")
    return caplog


def line_of(
    kept: pytest.LogCaptureFixture, request_id: str, logger: str = "wmgw.requests"
) -> logging.LogRecord:
    """The one record `logger` wrote for this request (written once its answer was sent)."""

    def records() -> list[logging.LogRecord]:
        return [
            r
            for r in kept.records
            if r.name == logger and getattr(r, "request_id", None) == request_id
        ]

    assert wait_for(lambda: len(records()) > 0)
    [record] = records()
    return record


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(logs.formatter("json").format(record))


def post(gw: Gateway, body: dict, **headers: str) -> httpx.Response:
    with gw.http() as http:
        return http.post("/chat/completions", json=body, headers=headers)


def test_a_chat_leaves_one_json_line_with_its_facts(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    response = post(gw, {"model": ECHO, "messages": HELLO})
    request_id = response.headers["x-request-id"]
    line = as_json(line_of(kept, request_id))
    [row] = [r for r in gw.ledger() if r["request_id"] == request_id]
    usage = response.json()["usage"]
    assert line["level"] == "INFO" and line["logger"] == "wmgw.requests" and line["time"]
    assert {
        k: line[k]
        for k in (
            "event", "request_id", "workspace_id", "key_id", "method", "endpoint", "model",
            "provider", "status", "prompt_tokens", "completion_tokens", "cached_tokens",
            "messages",
        )
    } == {
        "event": "request",
        "request_id": request_id,
        "workspace_id": gw.workspace_id,
        "key_id": row["key_id"],
        "method": "POST",
        "endpoint": CHAT,
        "model": ECHO,
        "provider": "writingmate",
        "status": 200,
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "cached_tokens": 0,
        "messages": row["messages"],
    }  # fmt: skip
    assert isinstance(line["duration_ms"], int)
    assert "attempts" not in line and "fallback_from" not in line
    assert request_id in line["message"] and CHAT in line["message"]
    assert gw.key.split(".")[2] not in json.dumps(line)


def test_a_stream_line_tells_its_time_to_first_output(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    response = post(gw, {"model": ECHO, "messages": HELLO, "stream": True})
    line = as_json(line_of(kept, response.headers["x-request-id"]))
    assert line["status"] == 200
    assert 0 <= line["first_output_ms"] <= line["duration_ms"]


def test_the_clients_own_request_id_is_kept_beside_the_gateways(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    theirs = "trace-7f3a.span:42_x"
    response = post(gw, {"model": ECHO, "messages": HELLO}, **{"X-Request-Id": theirs})
    ours = response.headers["x-request-id"]
    assert ours.startswith("req_") and ours != theirs
    assert as_json(line_of(kept, ours))["client_request_id"] == theirs


@pytest.mark.parametrize("malformed", ["has spaces", "x" * 129, "semi;colon", ""])
def test_a_malformed_client_request_id_is_left_out(
    gw: Gateway, kept: pytest.LogCaptureFixture, malformed: str
) -> None:
    response = post(gw, {"model": ECHO, "messages": HELLO}, **{"X-Request-Id": malformed})
    assert response.status_code == 200
    assert "client_request_id" not in as_json(line_of(kept, response.headers["x-request-id"]))


def test_refused_and_unknown_requests_have_their_line_too(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    no_key = httpx.post(f"{gw.base_url}/chat/completions", json={"model": ECHO})
    line = as_json(line_of(kept, no_key.headers["x-request-id"]))
    assert (line["endpoint"], line["status"], line["error_code"]) == (CHAT, 401, "invalid_api_key")
    assert "workspace_id" not in line
    unknown = httpx.get(f"{gw.root}/nowhere")
    line = as_json(line_of(kept, unknown.headers["x-request-id"]))
    assert (line["endpoint"], line["status"]) == ("unrouted", 404)


def test_an_upstream_failure_has_a_line_of_its_own_with_its_kind(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    response = post(gw, {"model": GPT, "messages": HELLO})
    assert response.status_code == 503
    request_id = response.headers["x-request-id"]
    failure = as_json(line_of(kept, request_id, logger="wmgw.errors"))
    assert failure["level"] == "WARNING"
    assert failure["event"] == "upstream_failure"
    assert (failure["status"], failure["kind"]) == (503, "refused")
    line = as_json(line_of(kept, request_id))
    assert (line["status"], line["error_code"], line["model"]) == (503, "upstream_unavailable", GPT)


def test_a_fallback_line_names_the_model_asked_and_the_calls_made(
    gw: Gateway, kept: pytest.LogCaptureFixture
) -> None:
    response = post(gw, {"model": GPT, "models": [ECHO], "messages": HELLO})
    assert response.json()["model"] == ECHO
    line = as_json(line_of(kept, response.headers["x-request-id"]))
    assert (line["model"], line["fallback_from"], line["attempts"]) == (ECHO, GPT, 2)


def test_text_lines_read_well_in_a_terminal(gw: Gateway, kept: pytest.LogCaptureFixture) -> None:
    response = post(gw, {"model": ECHO, "messages": HELLO})
    request_id = response.headers["x-request-id"]
    text = logs.formatter("text").format(line_of(kept, request_id))
    assert f"INFO wmgw.requests {request_id} POST {CHAT} 200 " in text
    assert text.endswith(f" ms {ECHO}")


def test_the_log_goes_to_standard_error_in_the_chosen_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    root, wmgw = logging.getLogger(), logging.getLogger("wmgw")
    levels = root.level, wmgw.level
    for flag in ("_srcfile", "logThreads", "logMultiprocessing"):  # restored after the test
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    try:
        logs.configure(LogSettings(format="json"))
        logs.configure(LogSettings(format="json"))  # configured again: still one handler
        logging.getLogger("wmgw.requests").info("done", extra={"request_id": "req_1"})
        logging.getLogger("some.library").info("chatter")  # libraries: WARNING and above
    finally:
        for handler in [h for h in root.handlers if getattr(h, "wmgw", False)]:
            root.removeHandler(handler)
        root.setLevel(levels[0])
        wmgw.setLevel(levels[1])
    [line] = err.getvalue().splitlines()
    assert json.loads(line)["request_id"] == "req_1"
    with pytest.raises(ValueError, match="json or text"):
        LogSettings.from_env({"WMGW_LOG_FORMAT": "xml"})
