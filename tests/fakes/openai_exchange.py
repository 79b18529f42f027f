"""One response of the fake OpenAI upstream, sent over raw ASGI so that streaming is explicit,
with the headers OpenAI puts on every response (``x-request-id``, ``openai-processing-ms``...)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import Send

SUCCESS_HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "29999990",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "0s",
}


class Exchange:
    """One response: adds OpenAI's ``x-request-id``/``openai-processing-ms`` headers to it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.request_id = "req_" + secrets.token_hex(16)
        self.started = time.monotonic()

    def _headers(
        self, content_type: str, extra: Mapping[str, str] | None
    ) -> list[tuple[bytes, bytes]]:
        elapsed_ms = int((time.monotonic() - self.started) * 1000)
        headers = {
            "content-type": content_type,
            "x-request-id": self.request_id,
            "openai-processing-ms": str(elapsed_ms),
            "openai-version": "2020-10-01",
            "openai-organization": "org-fake",
            "access-control-expose-headers": "X-Request-ID",
            **{k.lower(): v for k, v in (extra or {}).items()},
        }
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def body(
        self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        headers = self._headers(content_type, extra)
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def json(self, status: int, payload: Any, extra: Mapping[str, str] | None = None) -> None:
        """OpenAI pretty-prints its non-stream JSON bodies; clients must not care."""
        await self.body(status, json.dumps(payload, indent=2).encode(), "application/json", extra)

    async def start_stream(self, extra: Mapping[str, str] | None) -> None:
        headers = self._headers("text/event-stream; charset=utf-8", extra)
        headers.append((b"cache-control", b"no-cache, must-revalidate"))
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})

    async def event(self, data: str) -> None:
        """One SSE event: a single ``data:`` line and a blank line, no ``event:`` line."""
        await self.send(
            {"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True}
        )

    async def end(self) -> None:
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})
