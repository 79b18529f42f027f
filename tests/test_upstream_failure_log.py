"""An upstream failure a client is answered with (502, 503, 504) is in the server log, with
the request id the client got in `x-request-id`, the status and the reason: an operator
sees why clients fail (a wrong key, an outage, an unreachable host)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Gateway
from tests.fakes.openai_errors import openai_error
from tests.fakes.openai_upstream import FakeOpenAIUpstream

MODEL = "openai/gpt-4o-mini"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def failures(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="wmgw.errors"):
        yield caplog


def logged_for(request_id: str, caplog: pytest.LogCaptureFixture) -> str:
    """The one log record of this request, as its text."""
    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert record.levelno == logging.WARNING
    return record.getMessage()


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_503_is_logged_with_the_request_id(
    gateway: Gateway,
    fake_openai: FakeOpenAIUpstream,
    failures: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    fake_openai.fail(503, openai_error("The engine is currently overloaded.", type="server_error"))
    with gateway.http() as http:
        response = http.post(
            "/chat/completions", json={"model": MODEL, "messages": HELLO, "stream": stream}
        )
    assert response.status_code == 503
    text = logged_for(response.headers["x-request-id"], failures)
    assert "upstream failure" in text and "503" in text
    assert "The engine is currently overloaded." in text


def test_a_failure_in_the_middle_of_a_stream_is_logged(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, failures: pytest.LogCaptureFixture
) -> None:
    error = openai_error("The server had an error mid-way.", type="server_error")
    fake_openai.reply("one two three", error_after=2, error=error)  # after "one"
    with gateway.http() as http:
        response = http.post(
            "/chat/completions", json={"model": MODEL, "messages": HELLO, "stream": True}
        )
    assert response.status_code == 200 and '"error"' in response.text
    assert "The server had an error mid-way." in logged_for(
        response.headers["x-request-id"], failures
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_upstream_is_logged_with_the_reason(
    start_gateway: Callable[..., Gateway], failures: pytest.LogCaptureFixture
) -> None:
    gateway = start_gateway(env={"WMGW_OPENAI_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1"})
    with gateway.http() as http:
        response = http.post("/chat/completions", json={"model": MODEL, "messages": HELLO})
    assert response.status_code == 503
    text = logged_for(response.headers["x-request-id"], failures)
    assert "could not be reached" in text
    assert "Connect" in text  # the transport's own exception: why it could not


def test_an_error_of_the_caller_is_not_an_upstream_failure(
    gateway: Gateway, failures: pytest.LogCaptureFixture
) -> None:
    with gateway.http() as http:
        response = http.post("/chat/completions", json={"model": MODEL, "messages": []})
    assert response.status_code == 400
    assert not [r for r in failures.records if r.name == "wmgw.errors"]
