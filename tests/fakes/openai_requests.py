"""The requests the fake OpenAI upstream received, as tests read them (``fake.requests``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received; ``headers`` keys are lower-case, ``body`` is parsed JSON."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes


def recorded_request(scope: Scope, raw: bytes) -> RecordedRequest:
    """The request of ``scope`` with body ``raw``; repeated headers are joined with ``, ``."""
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return RecordedRequest(
        scope["method"],
        scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        headers,
        body,
        raw,
    )
