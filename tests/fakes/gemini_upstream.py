"""A fake Gemini API (Generative Language `v1beta`, also `v1`) on loopback, for tests.

Speaks Gemini's wire format: `POST /{v1beta|v1}/models/{model}:generateContent`
(one JSON `GenerateContentResponse`) and `:streamGenerateContent?alt=sse` (`data: {...}` events
framed with CRLF, no `event:` lines, no `[DONE]`, usage as running totals on every event,
`finishReason` on the last one), Google's error envelope `{"error": {code, message, status,
details}}`, and auth by the `x-goog-api-key` header or the `?key=` query. The answers are
rendered by gemini_generate.py, the errors by gemini_errors.py; embeddings, files and audio have
their own modules.

Tests script it through a FIFO queue, consumed one per generate call::

    fake = FakeGeminiUpstream(api_key="AIza-test")
    with fake.serve() as base_url:
        fake.reply("Hello", prompt_tokens=5, cached_tokens=2, thoughts_tokens=7)
        fake.reply(function_calls=[("get_weather", {"city": "Paris"})])
        fake.fail(429)

With an empty queue it echoes the last user text. Shared state is guarded by a lock: the app
runs in uvicorn's thread while pytest drives it from another.

Thought signatures as Google sends them: one `thoughtSignature` per response, on its first
`functionCall` part. For `gemini-3` models the fake enforces them as Gemini 3 does
(gemini_signatures.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from . import gemini_audio, gemini_embeddings, gemini_generate, gemini_signatures
from .gemini_embeddings import EMBED_PATH, EmbedReply
from .gemini_errors import (
    Failure,
    default_error,
    google_error,
    invalid_key_error,
    missing_key_error,
)
from .gemini_files import FilesApi
from .gemini_generate import GeneratePlan, Reply
from .gemini_http import end_stream, send_bare_error, send_event, send_json, start_event_stream
from .scripted import ScriptedFake
from .server import answer_lifespan, lower_headers, read_body

JSON = dict[str, Any]

_PATH = re.compile(r"^/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    model: str | None = None
    stream: bool = False
    version: str | None = None


class FakeGeminiUpstream(ScriptedFake["Reply | Failure", "RecordedRequest"]):
    """ASGI app mimicking `generativelanguage.googleapis.com` generate calls."""

    def __init__(self, api_key: str = "AIza-fake-gemini-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.files = FilesApi()
        self.signatures: set[str] = set()  # every thought signature issued

    # ---- scripting ------------------------------------------------------------------------

    def reply(self, text: str | None = None, **options: Any) -> None:
        """Queue the next answer; `options` are the fields of :class:`Reply`."""
        calls = options.pop("function_calls", ())
        self._push([Reply(text=text, function_calls=tuple(calls), **options)])

    def fail(self, status: int = 500, body: JSON | None = None, times: int = 1) -> None:
        self._push(Failure(status, body) for _ in range(times))

    def reply_embeddings(self, prompt_tokens: int | None = None) -> None:
        """Queue the next embed call's answer (with a `usageMetadata` when given tokens)."""
        self._push([EmbedReply(prompt_tokens)])  # type: ignore[list-item]

    def reset(self) -> None:
        super().reset()
        self.files.reset()
        self.signatures.clear()

    # ---- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        if raw is None:
            return
        headers = lower_headers(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        match = _PATH.match(scope["path"])
        stream = bool(match and match.group(3) == "streamGenerateContent")
        record = RecordedRequest(
            scope["method"],
            scope["path"],
            query,
            headers,
            body,
            match.group(2) if match else None,
            stream,
            match.group(1) if match else None,
        )
        self._record(record)
        request = (scope["method"], scope["path"], params)
        # An upload session's URL is its own credential (the SDK sends no key to it).
        uploading = "upload_id" in params
        if uploading and await self.files.serve(request, headers, raw, self.base_url or "", send):
            return
        key = headers.get("x-goog-api-key") or params.get("key")
        if not key:
            await send_json(send, 403, missing_key_error())
            return
        if key != self.api_key:
            await send_json(send, 400, invalid_key_error())
            return
        embed = EMBED_PATH.match(scope["path"])
        if embed and scope["method"] == "POST":
            await self._embed(send, embed.group(3), embed.group(2), body)
            return
        if await self.files.serve(request, headers, raw, self.base_url or "", send):
            return
        if not match or scope["method"] != "POST":
            await send_json(send, 404, google_error(404, f"Not found: {scope['path']}"))
            return
        await self._generate(send, match.group(2), body, len(raw), stream, params.get("alt"))

    async def _generate(
        self, send: Send, model: str, body: Any, size: int, stream: bool, alt: str | None
    ) -> None:
        """`generateContent` / `streamGenerateContent`, once the key and path are checked."""
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            await send_json(
                send, 400, google_error(400, "* GenerateContentRequest.contents: required")
            )
            return
        refused = gemini_audio.refusal(body, size, self.files) or self._unsigned(model, body)
        if refused is not None:
            await send_json(send, refused[0], google_error(*refused))
            return
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            failure = scripted.body or default_error(scripted.status, model)
            await send_json(send, scripted.status, failure)
            return
        plan = gemini_generate.plan(body, scripted, model, self.files)
        if scripted.function_calls:
            with self._lock:
                self.signatures.add(plan.signature)
        if not stream:
            await send_json(send, 200, plan.response())
        elif alt != "sse":  # without alt=sse: one JSON array written in pieces
            await send_json(send, 200, plan.events())
        else:
            await self._stream(send, plan, scripted)

    @staticmethod
    async def _stream(send: Send, plan: GeneratePlan, reply: Reply) -> None:
        await start_event_stream(send)
        for event in plan.events()[: reply.error_after_events]:
            await send_event(send, event)
        if reply.stream_error is not None and reply.bare_error:
            await send_bare_error(send, reply.stream_error)
        elif reply.stream_error is not None:
            await send_event(send, reply.stream_error)
        await end_stream(send)

    async def _embed(self, send: Send, method: str, model: str, body: Any) -> None:
        """`batchEmbedContents` / `embedContent` (tests/fakes/gemini_embeddings.py)."""
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            failure = scripted.body or default_error(scripted.status, model)
            await send_json(send, scripted.status, failure)
            return
        reply = scripted if isinstance(scripted, EmbedReply) else EmbedReply()
        try:
            await send_json(send, 200, gemini_embeddings.answer(method, model, body, reply))
        except gemini_embeddings.Invalid as exc:
            await send_json(send, 400, google_error(400, str(exc)))

    def _unsigned(self, model: str, body: JSON) -> tuple[int, str] | None:
        with self._lock:
            issued = frozenset(self.signatures)
        return gemini_signatures.unsigned_call(model, body, issued)
