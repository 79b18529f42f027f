"""A failure inside the gateway, wherever it happens (a handler, a middleware, after a response
began), is a 500 in OpenAI's envelope whose message names the request id, logged with that id,
and never charged."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import Receive, Scope, Send

from tests.conftest import Gateway
from tests.fakes.server import serve_asgi
from tests.test_metered_answer import Client, Run, numbered, serve
from web.middleware import RequestId

ECHO = "writingmate/echo"
HELLO = [{"role": "user", "content": "Hello!"}]


def drop(gateway: Gateway, table: str) -> None:
    """Break the database under the gateway: one of its tables is gone."""

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(text(f"DROP TABLE {table}"))

    gateway.db(work)


def assert_internal_error(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> str:
    """The 500 envelope naming the request id, and the log record carrying it: the id."""
    request_id = response.headers["x-request-id"]
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "error": {
            "message": response.json()["error"]["message"],
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    assert request_id in response.json()["error"]["message"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert logged and request_id in logged[0].getMessage() and logged[0].exc_info
    return request_id


@pytest.fixture
def caplog_errors(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.ERROR, logger="wmgw.errors"):
        yield caplog


def test_a_handler_failing_on_a_broken_database_is_a_500_naming_the_request(
    gateway: Gateway, caplog_errors: pytest.LogCaptureFixture
) -> None:
    drop(gateway, "ledger")
    with gateway.http() as http:
        response = http.get("/usage")
    assert_internal_error(response, caplog_errors)


def test_get_and_delete_of_a_stored_response_on_a_broken_database(
    gateway: Gateway, caplog_errors: pytest.LogCaptureFixture
) -> None:
    drop(gateway, "responses")
    with gateway.http() as http:
        got = http.get("/responses/resp_123")
        deleted = http.delete("/responses/resp_123")
    assert_internal_error(got, caplog_errors)
    assert_internal_error(deleted, caplog_errors)


def test_a_failing_middleware_is_a_500_naming_the_request_and_charges_nothing(
    gateway: Gateway, caplog_errors: pytest.LogCaptureFixture
) -> None:
    drop(gateway, "idempotency_keys")
    with gateway.http() as http:
        response = http.post(
            "/chat/completions",
            json={"model": ECHO, "messages": HELLO},
            headers={"Idempotency-Key": "key-1"},
        )
    assert_internal_error(response, caplog_errors)
    assert "retry it" in response.json()["error"]["message"]
    assert gateway.ledger() == []


async def _fails_before_answering(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        raise RuntimeError("a bug in some middleware")


async def _fails_after_starting(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("a bug after the answer began")


def test_what_escapes_every_other_layer_is_still_a_500_envelope(
    caplog_errors: pytest.LogCaptureFixture,
) -> None:
    with serve_asgi(RequestId(_fails_before_answering), lifespan="off") as url:
        response = httpx.get(f"{url}/anything")
    assert_internal_error(response, caplog_errors)


def test_a_failure_after_the_answer_began_is_logged_with_the_request_id(
    caplog_errors: pytest.LogCaptureFixture,
) -> None:
    app = RequestId(_fails_after_starting)
    with (
        serve_asgi(app, lifespan="off") as url,
        pytest.raises(httpx.HTTPError),
        httpx.stream("GET", f"{url}/anything") as response,
    ):
        request_id = response.headers["x-request-id"]
        response.read()
    logged = [r for r in caplog_errors.records if getattr(r, "request_id", None) == request_id]
    assert logged and "RuntimeError" in logged[0].getMessage()


class BuggyRun(Run):
    """A metered run whose own code fails before any output (a translator's bug)."""

    async def open(self) -> None:
        raise RuntimeError("a bug in a translator")


async def test_a_bug_before_a_metered_answer_is_a_500_naming_the_request_never_charged(
    caplog_errors: pytest.LogCaptureFixture,
) -> None:
    run, client = BuggyRun(numbered(3)), Client()
    await serve(run, client)
    assert client.status == 500
    error = json.loads(b"".join(client.bodies))["error"]
    assert (error["type"], error["code"]) == ("server_error", "internal_error")
    assert "req_test" in error["message"]
    [ending] = run.ticket.endings
    assert (ending.status, ending.http_status, ending.charged) == ("gateway_error", 500, False)
    assert [r for r in caplog_errors.records if getattr(r, "request_id", None) == "req_test"]


async def test_a_bug_after_output_ends_the_stream_and_is_never_charged(
    caplog_errors: pytest.LogCaptureFixture,
) -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 0\n\n"
        raise RuntimeError("a bug in a translator")

    run, client = Run(frames), Client()
    await serve(run, client)
    assert client.status == 200 and b"".join(client.bodies).endswith(b"data: error\n\n")
    [ending] = run.ticket.endings
    assert (ending.status, ending.delivered, ending.charged) == ("gateway_error", True, False)
    assert [r for r in caplog_errors.records if getattr(r, "request_id", None) == "req_test"]
