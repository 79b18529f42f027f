"""How Anthropic's HTTP error answers become the gateway's errors."""

from __future__ import annotations

import json

import pytest

from domain.errors import (
    InvalidRequest,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from providers.anthropic import answers
from providers.http.upstream import status_error


def _body(kind: str, message: str) -> bytes:
    return json.dumps(
        {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "kind", "headers", "error", "our_status"),
    [
        (400, "invalid_request_error", {}, InvalidRequest, 400),
        (401, "authentication_error", {}, UpstreamError, 502),
        (429, "rate_limit_error", {"retry-after": "7"}, RateLimited, 429),
        (500, "api_error", {}, UpstreamError, 502),
        (529, "overloaded_error", {}, UpstreamUnavailable, 503),
    ],
)
def test_http_errors_map_to_our_tree(
    status: int, kind: str, headers: dict[str, str], error: type, our_status: int
) -> None:
    mapped = status_error(status, headers, _body(kind, "Boom: details"), answers.read_error)
    assert type(mapped) is error and mapped.status == our_status
    assert "Boom: details" in mapped.message
    if status == 429:
        assert mapped.headers == {"retry-after": "7", "retry-after-ms": "7000"}
    if status == 400:
        assert mapped.message == "Boom: details" and mapped.code is None
