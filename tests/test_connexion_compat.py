"""web/connexion_compat/ patches Connexion's internals for speed and for OpenAPI 3.1. A
client must not be able to tell: every request below gets the same answer as through
Connexion's own routing and request validation, whatever the handler's arguments, valid or
not. And the patches must not outlive the library they were written for: a version they were
not written for stops the start, and a change in any function they replace or mirror fails
here."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from tests.conftest import Gateway
from web.connexion_compat import UnsupportedVersion, check_versions, routing
from web.connexion_compat.request_validation import CONNEXION_VALIDATE, _validate_then_call

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
    RoutingMiddleware.__call__ = routing.CONNEXION_ROUTE  # type: ignore[method-assign]
    SwaggerUIMiddleware.__call__ = routing.CONNEXION_PAGES  # type: ignore[method-assign]
    try:
        yield
    finally:
        RequestValidationOperation.__call__ = _validate_then_call  # type: ignore[method-assign]
        routing.remember_routes()


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


def test_a_library_version_the_patches_were_not_written_for_stops_the_start() -> None:
    installed = {"connexion": "3.3.0", "starlette": "1.10.2"}
    check_versions(installed.__getitem__)  # a patch release of the same minor series is fine
    for package, other in (("connexion", "3.4.0"), ("starlette", "1.11.0"), ("starlette", "1.1")):
        with pytest.raises(UnsupportedVersion, match=f"{package} {other} is installed"):
            check_versions({**installed, package: other}.__getitem__)


# The source of every library function a patch replaces, mirrors or overrides, as it was when
# the patch was written (SHA-256 of inspect.getsource). A new release that changes one fails
# here: read the new source, check the patch against it, then update the digest.
PATCHED = {
    "connexion.apps.asynchronous:AsyncOperation.fn": "006e30840024568d",
    "connexion.decorators.main:ASGIDecorator.__call__": "8b4cc32146fb1e8f",
    "connexion.decorators.main:BaseDecorator.decorate": "e5740992041fcf6d",
    "connexion.decorators.parameter:AsyncParameterDecorator.__call__": "d7c5833654946bf5",
    "connexion.middleware.request_validation:RequestValidationOperation.__call__": "61323c910419ada4",  # noqa: E501
    "connexion.middleware.routing:RoutingMiddleware.__call__": "0827c9a46c0e6b7e",
    "connexion.middleware.routing:RoutingOperation.__call__": "6a08e70740037dd2",
    "connexion.middleware.swagger_ui:SwaggerUIMiddleware.__call__": "b1d302382e5c73d8",
    "connexion.middleware.swagger_ui:SwaggerUIMiddleware.default_fn": "c0a01b2dc2d20461",
    "connexion.spec:Specification._validate_spec": "aef64330baf56e5d",
    "connexion.security:AbstractSecurityHandler._resolve_func": "4ed42693c81e3765",
    "connexion.security:BearerSecurityHandler.check_bearer_token": "09f24233c0d163c7",
    "connexion.validators.abstract:AbstractRequestBodyValidator.wrap_receive": "5e5d81610ba55452",
    "connexion.validators.json:JSONRequestBodyValidator._parse": "f3d04571b30d1c37",
    "connexion.validators.json:JSONRequestBodyValidator._validate": "88043d9054c8f701",
    "connexion.validators.abstract:AbstractRequestBodyValidator._insert_messages": "57f34393baec0f41",  # noqa: E501
    "starlette.formparsers:MultiPartParser.__init__": "5fa5392ba9c107c3",
    "starlette.formparsers:MultiPartParser.on_headers_finished": "9cd719125450a8ba",
    "starlette.formparsers:MultiPartParser.on_part_data": "1f9d7a0a560ff511",
    "starlette.requests:Request.json": "e863bf53df409bb5",
}


def source_digest(target: str) -> str:
    """From the library's file, not the live object: the patches replace some of them."""
    module_name, _, path = target.partition(":")
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    node: ast.AST = ast.parse(source)
    for name in path.split("."):
        node = next(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and child.name == name
        )
    segment = ast.get_source_segment(source, node) or ""
    return hashlib.sha256(segment.encode()).hexdigest()[:16]


@pytest.mark.parametrize("target", sorted(PATCHED))
def test_each_patched_library_function_is_as_the_patch_expects(target: str) -> None:
    assert source_digest(target) == PATCHED[target], f"{target} changed: check its patch"


async def test_a_scheme_naming_its_check_gets_that_check_and_the_others_the_default() -> None:
    from types import SimpleNamespace

    from web.connexion_compat import bearer_handler

    seen: list[tuple[str, str]] = []

    def recording(name: str) -> Any:
        async def check(token: str, _request: Any) -> dict[str, Any]:
            seen.append((name, token))
            return {"sub": name}

        return check

    handler = bearer_handler(recording("api keys"), {"metrics_token": recording("metrics")})()
    request = SimpleNamespace(headers={"Authorization": "Bearer t0k3n"})
    metrics = {"type": "http", "scheme": "bearer", "x-bearerInfoFunc": "metrics_token"}
    await handler.get_fn(metrics, None)(request)
    await handler.get_fn({"type": "http", "scheme": "bearer"}, None)(request)
    assert seen == [("metrics", "t0k3n"), ("api keys", "t0k3n")]
