"""What the `Idempotency-Key` tests through a gateway share: the models and message they send, a
fresh key and its header, an SDK client that counts its attempts, what the ledger charged, and
the 409 a refused retry gets."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import openai

from tests.conftest import Gateway

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
