"""Google's error responses, for the fake Gemini upstream and the fakes built on it: the
envelope ``{"error": {code, message, status, details}}``, the bodies Google sends for a missing
or wrong key and for each status, and the failures tests script with ``fake.fail``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(code: int, message: str, status: str | None = None, details: Any = None) -> JSON:
    error: JSON = {
        "code": code,
        "message": message,
        "status": status or _STATUS.get(code, "UNKNOWN"),
    }
    if details is not None:
        error["details"] = details
    return {"error": error}


def missing_key_error() -> JSON:
    """What Google sends when the request carries no key at all: HTTP 403."""
    return google_error(
        403,
        "Method doesn't allow unregistered callers (callers without established "
        "identity). Please use API Key or other form of API consumer identity "
        "to call this API.",
    )


def invalid_key_error() -> JSON:
    """What Google sends for a wrong key: HTTP 400, not 401."""
    return google_error(
        400,
        "API key not valid. Please pass a valid API key.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    )


def default_error(status: int, model: str = "gemini-2.5-flash") -> JSON:
    if status == 429:
        return google_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
        )
    if status == 503:
        return google_error(503, "The model is overloaded. Please try again later.")
    if status == 404:
        return google_error(404, f"models/{model} is not found for API version v1beta.")
    if status == 500:
        return google_error(500, "An internal error has occurred. Please retry.")
    return google_error(status, "Invalid JSON payload received.")


@dataclass(frozen=True)
class Failure:
    """A canned error response (``fake.fail``); without a body, Google's for its status."""

    status: int
    body: JSON | None = None
