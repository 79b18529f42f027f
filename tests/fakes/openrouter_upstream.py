"""A fake OpenRouter that speaks OpenRouter's wire format, for tests.

Serves ``POST /api/v1/chat/completions`` (answers from openrouter_chat.py) and
``GET /api/v1/models`` (``fake.model_list``: tests/fakes/model_lists.py, the checked-in sample by
default) on 127.0.0.1. Differences from OpenAI that it shows: ``gen-...`` ids, a ``provider``
field on responses and chunks, ``native_finish_reason``, ``delta.reasoning`` /
``message.reasoning`` text, usage (with ``cost``, ``is_byok`` and ``cache_write_tokens``) always
in the last data chunk before ``[DONE]``, ``: OPENROUTER PROCESSING`` SSE comments, a mid-stream
error as a data chunk with a top-level ``error`` and ``finish_reason: "error"``, and errors
``{"error": {"code": <status>, "message", "metadata"}}``.

Tests script it with a FIFO queue, one outcome per chat completion::

    fake = FakeOpenRouter(api_key="sk-or-v1-test")
    with fake.serve() as base_url:                  # "http://127.0.0.1:<port>/api/v1"
        fake.reply("Hello there", reasoning="Let me think", keepalives_before=2)
        fake.fail(402)                              # OpenRouter's "Insufficient credits" body
        fake.fail(429, retry_after=2)
        ...
        assert fake.requests[-1].body["model"] == "openai/gpt-4o"

With an empty queue it echoes the last user message. Token counts default to whitespace words.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .model_lists import ModelList
from .openrouter_chat import ChatPlan, Reply, echo
from .server import serve_asgi

__all__ = ["Failure", "FakeOpenRouter", "RecordedRequest", "error_body"]

JSON = dict[str, Any]

_DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Input was flagged by moderation",
    408: "Request timed out",
    429: "Rate limit exceeded: free-models-per-min",
    502: "Provider returned error",
    503: "No endpoints found that can handle the requested parameters.",
}


def error_body(status: int, message: str | None = None, metadata: JSON | None = None) -> JSON:
    """OpenRouter's error envelope; ``code`` is the HTTP status as a number."""
    error: JSON = {"code": status, "message": message or _DEFAULT_MESSAGES.get(status, "Error")}
    if metadata is None and status in (402, 502):
        metadata = {"provider_name": "OpenAI", "raw": "upstream said no"}
    if metadata is None and status == 403:
        metadata = {
            "reasons": ["violence"],
            "flagged_input": "...",
            "provider_name": "OpenAI",
            "model_slug": "openai/gpt-4o",
        }
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error}


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON | str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; ``headers`` keys are lower-case, ``body`` is parsed JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpenRouter:
    def __init__(self, api_key: str = "sk-or-v1-fake-key") -> None:
        self.api_key = api_key
        self.base_url = ""  # http://127.0.0.1:<port>/api/v1 while serving
        self._lock = threading.Lock()
        self._queue: deque[Reply | Failure] = deque()
        self._requests: list[RecordedRequest] = []
        self.model_list = ModelList.openrouter_sample()  # GET /api/v1/models
        self.app = Starlette(
            routes=[
                Route("/api/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/api/v1/models", self.model_list.answer),
            ]
        )

    # -- scripting ------------------------------------------------------------------------

    def reply(self, text: str | None = None, **options: Any) -> Reply:
        reply = Reply(text=text, **options)
        with self._lock:
            self._queue.append(reply)
        return reply

    def fail(
        self,
        status: int,
        message: str | None = None,
        *,
        metadata: JSON | None = None,
        retry_after: int | None = None,
        body: JSON | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Failure:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        failure = Failure(
            status, body if body is not None else error_body(status, message, metadata), extra
        )
        with self._lock:
            self._queue.append(failure)
        return failure

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.model_list.reset()

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serve_asgi(self.app) as url:
            self.base_url = f"{url}/api/v1"
            try:
                yield self.base_url
            finally:
                self.base_url = ""

    # -- HTTP -----------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                )
            )
            outcome = self._queue.popleft() if self._queue else None
        auth = request.headers.get("authorization")
        if auth != f"Bearer {self.api_key}":
            message = "No auth credentials found" if not auth else "User not found."
            return JSONResponse(error_body(401, message), 401)
        if not isinstance(body, dict) or not body.get("model") and not body.get("models"):
            return JSONResponse(error_body(400, "No models provided"), 400)
        if isinstance(outcome, Failure):
            if isinstance(outcome.body, str):
                return Response(outcome.body, outcome.status, dict(outcome.headers))
            return JSONResponse(outcome.body, outcome.status, dict(outcome.headers))
        reply = outcome or echo(body)
        plan = ChatPlan.of(reply, body)
        headers = {"X-Generation-Id": plan.id}
        if body.get("stream"):
            return StreamingResponse(
                plan.stream(reply), media_type="text/event-stream", headers=headers
            )
        return JSONResponse(plan.completion(), headers=headers)
