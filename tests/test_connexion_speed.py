"""gateway/connexion_speed.py builds Connexion's per-operation objects once and calls the
handlers that take only `body` and `token_info` without Connexion's argument builder. A client
must not be able to tell: every request below gets the same answer as through Connexion's own
request validation, whatever the handler's arguments, valid or not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from gateway import connexion_routes
from gateway.connexion_speed import CONNEXION_VALIDATE, _validate_then_call
from tests.conftest import Gateway

ECHO = "writingmate/echo"
JSON = {"content-type": "application/json"}
CHAT = {"model": ECHO, "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 8}

# (method, path, headers, body): valid requests and refused ones, through lean handlers
# (chat, models list) and through Connexion's argument builder (path and query parameters).
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("POST", "/chat/completions", JSON, httpx.Request("POST", "/", json=CHAT).content),
    ("POST", "/chat/completions", JSON, b""),
    ("POST", "/chat/completions", JSON, b"{not json"),
    ("POST", "/chat/completions", {"content-type": "text/plain"}, b"hello"),
    ("POST", "/chat/completions", {}, httpx.Request("POST", "/", json=CHAT).content),
    ("POST", "/chat/completions", {"content-type": "application/json; charset=latin-1"},
     httpx.Request("POST", "/", json=CHAT).content),
    ("POST", "/chat/completions", JSON,
     httpx.Request("POST", "/", json={**CHAT, "max_tokens": 0}).content),
    ("POST", "/chat/completions", JSON, httpx.Request("POST", "/", json={"model": ECHO}).content),
    ("POST", "/chat/completions", {**JSON, "Idempotency-Key": "x" * 300},
     httpx.Request("POST", "/", json=CHAT).content),
    ("POST", "/chat/completions", {**JSON, "x-writingmate-workspace": "ws_nosuch"},
     httpx.Request("POST", "/", json=CHAT).content),
    ("GET", "/models", {}, None),
    ("POST", "/models", JSON, b"{}"),
    ("GET", "/chat/completions", {}, None),
    ("GET", "/nosuch", {}, None),
    ("GET", f"/models/{ECHO}", {}, None),
    ("GET", "/models/nosuch%2Fmodel", {}, None),
    ("GET", "/usage?start_date=2026-01-01&end_date=2026-01-02", {}, None),
    ("GET", "/usage?start_date=not-a-date", {}, None),
]  # fmt: skip


def comparable(response: httpx.Response) -> tuple[int, Any]:
    """Status and body, without what differs between any two requests (ids, times)."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text
    if isinstance(body, dict):
        for varying in ("id", "created", "system_fingerprint"):
            body.pop(varying, None)
    return response.status_code, body


@contextmanager
def through_connexion() -> Iterator[None]:
    """Connexion's own routing and request validation, for the time of a block. (The pages'
    router keeps the `default_fn` bound when the app was made: both versions end in its next
    app, which is what is compared.)"""
    RequestValidationOperation.__call__ = CONNEXION_VALIDATE  # type: ignore[method-assign]
    RoutingMiddleware.__call__ = connexion_routes.CONNEXION_ROUTE  # type: ignore[method-assign]
    SwaggerUIMiddleware.__call__ = connexion_routes.CONNEXION_PAGES  # type: ignore[method-assign]
    try:
        yield
    finally:
        RequestValidationOperation.__call__ = _validate_then_call  # type: ignore[method-assign]
        connexion_routes.remember_routes()


def send_all(gateway: Gateway) -> list[tuple[int, Any]]:
    with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        auth = {"authorization": f"Bearer {gateway.key}"}
        return [
            comparable(http.request(method, path, headers={**auth, **headers}, content=body))
            for method, path, headers, body in REQUESTS
        ]


def test_every_request_gets_the_answer_connexion_itself_gives(gateway: Gateway) -> None:
    fast = send_all(gateway)
    fast_again = send_all(gateway)  # the second time, from the validators built once
    with through_connexion():
        reference = send_all(gateway)
    assert fast == reference
    assert fast_again == reference
    statuses = [status for status, _ in reference]
    assert statuses[0] == 200 and statuses[1:4] == [400, 400, 415], statuses


def test_many_content_type_spellings_are_all_answered(gateway: Gateway) -> None:
    """Validators are kept for the first few spellings of a media type; any further spelling
    is still validated, just not kept."""
    body = httpx.Request("POST", "/", json=CHAT).content
    with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        for n in range(24):
            headers = {
                "authorization": f"Bearer {gateway.key}",
                "content-type": f"application/json; charset=utf-8; v={n}",
            }
            answer = http.post("/chat/completions", headers=headers, content=body)
            assert answer.status_code == 200, answer.text
        bad = http.post(
            "/chat/completions",
            headers={"authorization": f"Bearer {gateway.key}", "content-type": "text/csv"},
            content=b"a,b",
        )
    assert bad.status_code == 415
