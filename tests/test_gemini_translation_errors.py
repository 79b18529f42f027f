"""How Google's error envelopes, and error events inside a stream, become the gateway's
errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import UpstreamError
from providers.gemini import errors
from providers.http.upstream import status_error
from tests.gemini_recorded_stream import RECORDED_STREAM


def envelope(code: int, status: str, message: str = "m", details: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "body", "our_status", "code"),
    [
        (400, envelope(400, "INVALID_ARGUMENT"), 400, "invalid_argument"),
        (
            429,
            envelope(
                429,
                "RESOURCE_EXHAUSTED",
                details=[
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
                ],
            ),
            429,
            "rate_limit_exceeded",
        ),
        (503, envelope(503, "UNAVAILABLE"), 503, "upstream_unavailable"),
        (500, envelope(500, "INTERNAL"), 502, "upstream_error"),
        (504, envelope(504, "DEADLINE_EXCEEDED"), 504, "upstream_timeout"),
        (404, envelope(404, "NOT_FOUND"), 502, "upstream_error"),
        (403, envelope(403, "PERMISSION_DENIED"), 502, "upstream_error"),
    ],
)
def test_google_errors_map_onto_ours(status: int, body: bytes, our_status: int, code: str) -> None:
    error = status_error(status, {}, body, errors.read_error)
    assert (error.status, error.code) == (our_status, code)
    assert "m" in error.message


def test_a_bad_gateway_key_is_not_the_callers_fault() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
    body = envelope(
        400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details
    )
    error = errors.ours(status_error(400, {}, body, errors.read_error))
    assert error.status == 502


def test_error_event_inside_a_stream() -> None:
    failure = errors.error_of({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})
    assert isinstance(failure, UpstreamError) and "boom" in failure.message
    assert errors.error_of(RECORDED_STREAM[0]) is None
