"""A fake Gemini API (Generative Language `v1beta`, also `v1`) on loopback, for tests.

Speaks Gemini's wire format: `POST /{v1beta|v1}/models/{model}:generateContent`
(one JSON `GenerateContentResponse`) and `:streamGenerateContent?alt=sse` (`data: {...}` events
framed with CRLF, no `event:` lines, no `[DONE]`, usage as running totals on every event,
`finishReason` on the last one), Google's error envelope `{"error": {code, message, status,
details}}`, and auth by the `x-goog-api-key` header or the `?key=` query.

Tests script it through a FIFO queue, consumed one per generate call::

    fake = FakeGeminiUpstream(api_key="AIza-test")
    with fake.serve() as base_url:
        fake.reply("Hello", prompt_tokens=5, cached_tokens=2, thoughts_tokens=7)
        fake.reply(function_calls=[("get_weather", {"city": "Paris"})])
        fake.fail(429)

With an empty queue it echoes the last user text. Shared state is guarded by a lock: the app
runs in uvicorn's thread while pytest drives it from another.

Thought signatures as Google sends them: one `thoughtSignature` per response, on its first
`functionCall` part. For `gemini-3` models the fake enforces them as Gemini 3 does: in the
current turn (after the last user message that is not only function responses), each model
step's first `functionCall` part must carry a signature the fake issued, or the placeholder
Google documents for histories without one; else 400 `INVALID_ARGUMENT`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from . import gemini_audio, gemini_embeddings
from .gemini_embeddings import EMBED_PATH, EmbedReply
from .gemini_files import FilesApi
from .scripted import ScriptedFake
from .server import answer_lifespan, lower_headers, read_body

JSON = dict[str, Any]
CallSpec = tuple[str, Mapping[str, Any]]

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_PATH = re.compile(r"^/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent)$")
SIGNATURE_PLACEHOLDERS = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)


def google_error(code: int, message: str, status: str | None = None, details: Any = None) -> JSON:
    error: JSON = {
        "code": code,
        "message": message,
        "status": status or _STATUS.get(code, "UNKNOWN"),
    }
    if details is not None:
        error["details"] = details
    return {"error": error}


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
class Reply:
    text: str | None = None
    function_calls: Sequence[CallSpec] = ()
    thought: str | None = None
    finish_reason: str = "STOP"
    prompt_tokens: int | None = None
    candidates_tokens: int | None = None
    cached_tokens: int = 0
    thoughts_tokens: int = 0
    block_reason: str | None = None
    chunks: Sequence[str] | None = None
    candidates: int = 1
    stream_error: JSON | None = None  # sent as one more event after the text, then EOF
    # The error as Gemini really ends a failing stream: pretty-printed JSON, no `data:` framing.
    bare_error: bool = False
    error_after_events: int | None = None  # the error after this many events (default: all)


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON | None = None


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


def _words(text: str) -> int:
    return len(text.split())


def _prompt_words(body: Mapping[str, Any]) -> int:
    total = 0
    contents = list(body.get("contents") or [])
    if body.get("systemInstruction"):
        contents.append(body["systemInstruction"])
    for content in contents:
        for part in content.get("parts") or []:
            total += _words(str(part.get("text") or "")) + (1 if "inlineData" in part else 0)
    return total


def _last_user_text(body: Mapping[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role", "user") == "user":
            texts = [p["text"] for p in content.get("parts") or [] if "text" in p]
            if texts:
                return " ".join(texts)
    return "Hello!"


@dataclass
class _Plan:
    reply: Reply
    text: str | None
    prompt: int
    candidates: int
    model: str
    response_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    audio_tokens: int = 0
    signature: str = field(default_factory=lambda: "CikBcsjafFK1" + secrets.token_hex(8))

    def usage(self, candidates: int | None = None) -> JSON:
        used = self.candidates if candidates is None else candidates
        usage: JSON = {
            "promptTokenCount": self.prompt,
            "candidatesTokenCount": used,
            "totalTokenCount": self.prompt + used + self.reply.thoughts_tokens,
            "promptTokensDetails": gemini_audio.prompt_details(self.prompt, self.audio_tokens),
        }
        if self.reply.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.reply.thoughts_tokens
        if self.reply.cached_tokens:
            usage["cachedContentTokenCount"] = self.reply.cached_tokens
            usage["cacheTokensDetails"] = [
                {"modality": "TEXT", "tokenCount": self.reply.cached_tokens}
            ]
        return usage

    def _envelope(self, candidates: list[JSON], usage: JSON) -> JSON:
        return {
            "candidates": candidates,
            "usageMetadata": usage,
            "modelVersion": self.model,
            "responseId": self.response_id,
        }

    def _blocked(self) -> JSON:
        return {
            "promptFeedback": {
                "blockReason": self.reply.block_reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": {"promptTokenCount": self.prompt, "totalTokenCount": self.prompt},
            "modelVersion": self.model,
            "responseId": self.response_id,
        }

    def _parts(self, text: str | None, calls: bool, thought: bool) -> list[JSON]:
        parts: list[JSON] = []
        if thought and self.reply.thought:
            parts.append({"text": self.reply.thought, "thought": True})
        if text:
            parts.append({"text": text})
        if calls:
            for n, (name, args) in enumerate(self.reply.function_calls):
                part: JSON = {"functionCall": {"name": name, "args": dict(args)}}
                if n == 0:  # one signature per response, on its first call
                    part["thoughtSignature"] = self.signature
                parts.append(part)
        return parts

    def _candidate(self, index: int, parts: list[JSON], finish: bool) -> JSON:
        candidate: JSON = {"content": {"parts": parts, "role": "model"}, "index": index}
        if finish:
            candidate["finishReason"] = self.reply.finish_reason
            if self.reply.function_calls:
                candidate["finishMessage"] = "Model generated function call(s)."
        return candidate

    def response(self) -> JSON:
        if self.reply.block_reason:
            return self._blocked()
        parts = self._parts(self.text, True, True)
        candidates = [self._candidate(i, parts, True) for i in range(self.reply.candidates)]
        return self._envelope(candidates, self.usage())

    def events(self) -> list[JSON]:
        if self.reply.block_reason:
            return [self._blocked()]
        pieces = (
            list(self.reply.chunks)
            if self.reply.chunks is not None
            else re.findall(r"\s*\S+", self.text or "")
        )
        steps: list[tuple[str | None, bool, bool]] = []  # text, calls, thought
        if self.reply.thought:
            steps.append((None, False, True))
        steps.extend((piece, False, False) for piece in pieces)
        if self.reply.function_calls:
            steps.append((None, True, False))
        if not steps:
            steps.append(("", False, False))
        events: list[JSON] = []
        produced = 0
        for n, (text, calls, thought) in enumerate(steps):
            produced += _words(text or "")
            last = n == len(steps) - 1
            parts = self._parts(text, calls, thought)
            candidates = [self._candidate(i, parts, last) for i in range(self.reply.candidates)]
            used = self.candidates if last else min(produced, self.candidates)
            events.append(self._envelope(candidates, self.usage(used)))
        return events


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
            await _json(
                send,
                403,
                google_error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity "
                    "to call this API.",
                ),
            )
            return
        if key != self.api_key:
            await _json(send, 400, invalid_key_error())
            return
        embed = EMBED_PATH.match(scope["path"])
        if embed and scope["method"] == "POST":
            await self._embed(send, embed.group(3), embed.group(2), body)
            return
        if await self.files.serve(request, headers, raw, self.base_url or "", send):
            return
        if not match or scope["method"] != "POST":
            await _json(send, 404, google_error(404, f"Not found: {scope['path']}"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            await _json(send, 400, google_error(400, "* GenerateContentRequest.contents: required"))
            return
        refused = gemini_audio.refusal(body, len(raw), self.files) or self._unsigned(
            match.group(2), body
        )
        if refused is not None:
            await _json(send, refused[0], google_error(*refused))
            return
        scripted = self._next(Reply())
        model = match.group(2)
        if isinstance(scripted, Failure):
            await _json(
                send, scripted.status, scripted.body or default_error(scripted.status, model)
            )
            return
        plan = self._plan(body, scripted, model, self.files)
        if scripted.function_calls:
            with self._lock:
                self.signatures.add(plan.signature)
        if not stream:
            await _json(send, 200, plan.response())
            return
        if params.get("alt") != "sse":  # without alt=sse: one JSON array written in pieces
            await _json(send, 200, plan.events())
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"content-disposition", b"attachment"),
                    (b"vary", b"Origin, X-Origin, Referer"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"server", b"scaffolding on HTTPServer2"),
                ],
            }
        )
        for event in plan.events()[: scripted.error_after_events]:
            await _event(send, event)
        if scripted.stream_error is not None and scripted.bare_error:
            body = json.dumps(scripted.stream_error, indent=2).encode() + b"\n"
            await send({"type": "http.response.body", "body": body, "more_body": True})
        elif scripted.stream_error is not None:
            await _event(send, scripted.stream_error)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def reply_embeddings(self, prompt_tokens: int | None = None) -> None:
        """Queue the next embed call's answer (with a `usageMetadata` when given tokens)."""
        self._push([EmbedReply(prompt_tokens)])  # type: ignore[list-item]

    async def _embed(self, send: Send, method: str, model: str, body: Any) -> None:
        """`batchEmbedContents` / `embedContent` (tests/fakes/gemini_embeddings.py)."""
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            failure = scripted.body or default_error(scripted.status, model)
            await _json(send, scripted.status, failure)
            return
        reply = scripted if isinstance(scripted, EmbedReply) else EmbedReply()
        try:
            await _json(send, 200, gemini_embeddings.answer(method, model, body, reply))
        except gemini_embeddings.Invalid as exc:
            await _json(send, 400, google_error(400, str(exc)))

    def _unsigned(self, model: str, body: JSON) -> tuple[int, str] | None:
        """Gemini 3's 400 for a current-turn step whose calls lost their signature."""
        if not model.startswith("gemini-3"):
            return None
        with self._lock:
            accepted = self.signatures | SIGNATURE_PLACEHOLDERS
        contents = body["contents"]
        starts = [i for i, c in enumerate(contents) if _opens_turn(c)]
        for position in range(starts[-1] + 1 if starts else 0, len(contents)):
            calls = [p for p in contents[position].get("parts") or [] if "functionCall" in p]
            if contents[position].get("role") != "model" or not calls:
                continue
            signature = calls[0].get("thoughtSignature")
            if signature is None:
                return 400, (
                    "Function call is missing a thought_signature in functionCall parts. This "
                    "is required for tools to work correctly. Additional data, function call "
                    f"`{calls[0]['functionCall'].get('name')}`, position {position}. Please "
                    "refer to https://ai.google.dev/gemini-api/docs/thought-signatures."
                )
            if signature not in accepted:
                return 400, "Corrupted thought signature."
        return None

    @staticmethod
    def _plan(body: JSON, reply: Reply, model: str, files: FilesApi) -> _Plan:
        text = reply.text
        if text is None and not reply.function_calls:
            text = gemini_audio.transcript(body, files) or _last_user_text(body)
        audio = gemini_audio.audio_tokens(body, files)
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = _prompt_words(body) + audio
        candidates = reply.candidates_tokens
        if candidates is None:
            candidates = _words(text or "") + sum(
                1 + len(json.dumps(dict(a)).split()) for _, a in reply.function_calls
            )
        return _Plan(reply, text, prompt, candidates, model, audio_tokens=min(audio, prompt))


def _opens_turn(content: Mapping[str, Any]) -> bool:
    """A user message with something besides function responses starts a new turn."""
    parts = content.get("parts") or []
    return content.get("role", "user") == "user" and any("functionResponse" not in p for p in parts)


async def _event(send: Send, payload: Any) -> None:
    data = json.dumps(payload, separators=(",", ":"))
    await send(
        {"type": "http.response.body", "body": f"data: {data}\r\n\r\n".encode(), "more_body": True}
    )


async def _json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload, indent=2).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin, X-Origin, Referer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
