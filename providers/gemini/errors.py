"""Gemini's errors as ours: Google's envelope `{"error": {code, message, status, details}}`,
whether it comes as an HTTP error or inside a 200 stream, and the 400s that are about the
gateway's own key rather than the caller's request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.errors import GatewayError, InvalidRequest, UpstreamError
from providers.http import upstream

# Google reports these as 400 but they are the gateway's configuration, not the caller's.
_OUR_FAULT = frozenset({"API_KEY_INVALID", "FAILED_PRECONDITION", "API_KEY_SERVICE_BLOCKED"})

# Google's canonical codes, for an in-stream error that names its `status` but no `code`.
_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def read_error(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, param, code) from Google's `{"error": {code, message, status, details}}`;
    the code is the `ErrorInfo.reason` when there is one, else the lower-cased `status`."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(body, list) and body:  # a non-SSE stream wraps everything in an array
        return read_error(body[0])
    if not isinstance(error, Mapping):
        return None, None, None
    reason = next(
        (
            d.get("reason")
            for d in error.get("details") or []
            if isinstance(d, Mapping) and str(d.get("@type", "")).endswith("ErrorInfo")
        ),
        None,
    )
    status = error.get("status")
    code = reason or (str(status).lower() if status else None)
    message = error.get("message")
    return (str(message) if message is not None else None), None, code


def ours(exc: GatewayError) -> GatewayError:
    """A 400 that is about the gateway's key or account becomes a 502."""
    if isinstance(exc, InvalidRequest) and (
        str(exc.code or "").upper() in _OUR_FAULT or "API key not valid" in exc.message
    ):
        return UpstreamError(f"The upstream provider refused the gateway's request: {exc.message}")
    return exc


def error_of(payload: Any, sent: Mapping[str, str] | None = None) -> GatewayError | None:
    """A Gemini error envelope inside a 200 stream (a `data:` event, or the bare JSON Gemini
    ends a failing stream with), mapped as the same error sent as the HTTP status it carries:
    a 503 stays 503, a 429 keeps its `RetryInfo` wait. `sent`: the request's headers, whose
    credentials never reach the client."""
    if not isinstance(payload, Mapping) or not payload.get("error"):
        return None
    error = payload["error"] if isinstance(payload["error"], Mapping) else {}
    code = error.get("code")
    status = (
        code
        if isinstance(code, int) and code >= 400
        else _HTTP_STATUS.get(str(error.get("status")))
    )
    if status is None:
        message, _, _ = read_error(payload)
        text = upstream.upstream_message(message or "unknown error", sent)
        return UpstreamError(f"The upstream provider failed mid-stream: {text}")
    raw = json.dumps(payload).encode()
    return ours(upstream.status_error(status, {}, raw, read_error, sent=sent))
