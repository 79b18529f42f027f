"""A fake OpenAI upstream that speaks OpenAI's real wire format, for tests.

Serves ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions`` (and the legacy
``POST /v1/completions``, from ``text_completions.py``) exactly as
OpenAI answers them, as specified by the
official schemas in ``openai-openapi-subset.yaml``: ``ListModelsResponse``/``Model``,
``CreateChatCompletionResponse``, ``CreateChatCompletionStreamResponse`` and ``ErrorResponse``.
``POST /v1/embeddings`` is served by ``tests/fakes/openai_embeddings.py``.

Tests script it through a FIFO queue of canned outcomes, consumed one per chat completion::

    fake = FakeOpenAIUpstream(api_key="sk-upstream")
    with fake.serve() as base_url:                    # "http://127.0.0.1:<port>"
        fake.reply("Hello there", prompt_tokens=12, completion_tokens=3)
        fake.reply(tool_calls=[("get_weather", '{"city": "Paris"}')])
        fake.fail(429)                                # OpenAI's rate-limit body and headers
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-upstream")
        ...
        assert fake.requests[-1].body["model"] == "gpt-4o-mini"

With an empty queue it echoes the last user message (or calls the first tool when ``tools`` are
sent). Token counts default to whitespace-separated words. The ASGI app runs in uvicorn's thread
while pytest drives it from another one, so shared state is guarded by a lock.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from . import openai_embeddings, text_completions
from .openai_embeddings import EmbeddingsReply
from .openai_transcriptions import TranscriptionFake
from .openai_videos_upstream import FakeVideosAPI
from .server import answer_lifespan, read_body, serve_asgi

__all__ = [
    "CallRecord",
    "Failure",
    "FakeOpenAIUpstream",
    "RecordedRequest",
    "Reply",
    "insufficient_quota_error",
    "invalid_api_key_error",
    "missing_api_key_error",
    "model_not_found_error",
    "openai_error",
    "overloaded_error",
    "rate_limit_error",
    "rate_limit_headers",
    "server_error",
]

JSON = dict[str, Any]
ToolCallSpec = tuple[str, str | Mapping[str, Any]]
DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini")
_ALNUM = string.ascii_letters + string.digits

# --------------------------------------------------------------------------------------------
# OpenAI error bodies (ErrorResponse -> Error: message, type, param, code are always present).
# --------------------------------------------------------------------------------------------


def openai_error(
    message: str, type: str = "invalid_request_error", param: str | None = None, code: Any = None
) -> JSON:
    """Build OpenAI's error envelope ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid_api_key_error(key: str) -> JSON:
    """401 body OpenAI sends for a wrong key, masked like OpenAI does (``sk-***wxyz``)."""
    masked = key if len(key) <= 8 else f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"
    return openai_error(
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def missing_api_key_error() -> JSON:
    """401 body OpenAI sends when there is no ``Authorization: Bearer`` header at all."""
    return openai_error(
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
        "(with blank username) if you're accessing the API from your browser and are prompted for "
        "a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
    )


def model_not_found_error(model: str) -> JSON:
    """404 body of ``GET /v1/models/{model}`` for an unknown id."""
    return openai_error(
        f"The model '{model}' does not exist", param="model", code="model_not_found"
    )


def rate_limit_error(
    model: str = "gpt-4o-mini", *, kind: str = "requests", limit: int = 500
) -> JSON:
    """429 body for an RPM (``kind="requests"``) or TPM (``kind="tokens"``) limit."""
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    return openai_error(
        f"Rate limit reached for {model} in organization org-fake on {unit}: Limit {limit}, "
        f"Used {limit}, Requested 1. Please try again in 120ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        type=kind,
        code="rate_limit_exceeded",
    )


def insufficient_quota_error() -> JSON:
    """429 body when the account is out of credit (must not be retried)."""
    return openai_error(
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def server_error() -> JSON:
    """500 body."""
    return openai_error(
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def overloaded_error() -> JSON:
    """503 body."""
    return openai_error(
        "The engine is currently overloaded, please try again later", type="server_error"
    )


def rate_limit_headers(*, remaining_requests: int = 0, retry_after: int = 1) -> dict[str, str]:
    """OpenAI's ``x-ratelimit-*`` headers plus ``retry-after``/``retry-after-ms`` as on a 429."""
    return {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-requests": str(remaining_requests),
        "x-ratelimit-remaining-tokens": "29972",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-reset-tokens": "56ms",
        "retry-after": str(retry_after),
        "retry-after-ms": "120",
    }


def _default_failure_body(status: int, model: str) -> JSON:
    """The body OpenAI sends for ``status`` when a test does not give one."""
    if status == 401:
        return invalid_api_key_error("sk-wrong-key")
    if status == 403:
        return openai_error(
            "Country, region, or territory not supported",
            type="request_forbidden",
            code="unsupported_country_region_territory",
        )
    if status == 404:
        return openai_error(
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    if status == 429:
        return rate_limit_error(model)
    if status == 502:  # Cloudflare in front of OpenAI: numeric code
        return openai_error("Bad gateway.", type="cf_bad_gateway", code=502)
    if status == 503:
        return overloaded_error()
    if status >= 500:
        return server_error()
    return openai_error("Invalid request.")


# --------------------------------------------------------------------------------------------
# Scripting and observation records.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A canned successful chat completion; ``None`` fields are filled from the request."""

    text: str | None = None
    tool_calls: Sequence[ToolCallSpec] | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None
    chunks: Sequence[str] | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    hang_after: int | None = None
    error_after: int | None = None
    error: JSON | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Failure:
    """A canned error response (``fake.fail``); a str/bytes body is sent verbatim."""

    status: int
    body: JSON | str | bytes | None = None
    headers: Mapping[str, str] | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received; ``headers`` keys are lower-case, ``body`` is parsed JSON."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes


@dataclass
class CallRecord:
    """Outcome of one successful chat completion, updated live while it is being sent.

    ``completed`` means the server sent its last byte; ``disconnected`` means the client went
    away before that (OpenAI stops generating then; a gateway must propagate its client leaving).
    """

    request_id: str
    stream: bool
    chunks_sent: int = 0
    completed: bool = False
    disconnected: bool = False


@dataclass
class _ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class _Plan:
    """A fully resolved reply, rendered as OpenAI's non-stream body or stream chunks."""

    id: str
    created: int
    model: str
    text: str | None
    pieces: list[str]
    tool_calls: list[_ToolCall]
    finish_reason: str
    usage: JSON
    service_tier: str
    system_fingerprint: str
    obfuscation: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def completion(self) -> JSON:
        """``CreateChatCompletionResponse`` (``object: chat.completion``)."""
        message: JSON = {
            "role": "assistant",
            "content": self.text,
            "refusal": None,
            "annotations": [],
        }
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
        }

    def chunks(self, include_usage: bool) -> list[JSON]:
        """``CreateChatCompletionStreamResponse`` chunks, in OpenAI's order."""
        deltas: list[JSON] = []
        if self.text is not None or not self.tool_calls:
            deltas.append({"role": "assistant", "content": "", "refusal": None})
            deltas.extend({"content": piece} for piece in self.pieces)
        for index, call in enumerate(self.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if deltas:
                deltas.append({"tool_calls": [head]})
            else:  # OpenAI puts the role on the first tool-call delta when there is no text
                deltas.append(
                    {"role": "assistant", "content": None, "tool_calls": [head], "refusal": None}
                )
            deltas.extend(
                {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                for fragment in _split_arguments(call.arguments)
            )
        chunks = [self._chunk(include_usage, [_choice(d, None)]) for d in deltas]
        chunks.append(self._chunk(include_usage, [_choice({}, self.finish_reason)]))
        if include_usage:
            chunks.append(self._chunk(include_usage, [], usage=self.usage))
        return chunks

    def _chunk(self, include_usage: bool, choices: list[JSON], usage: JSON | None = None) -> JSON:
        chunk: JSON = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
            "choices": choices,
        }
        if include_usage:  # only then does OpenAI send the key at all (null until the last chunk)
            chunk["usage"] = usage
        if self.obfuscation:  # OpenAI pads chunks unless stream_options.include_obfuscation=false
            chunk["obfuscation"] = _random_id("", 1 + secrets.randbelow(16))
        return chunk


def _choice(delta: JSON, finish_reason: str | None) -> JSON:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _split_text(text: str) -> list[str]:
    """Split into token-like pieces that keep their leading space (``"Hello", " there"``)."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces


def _split_arguments(arguments: str, parts: int = 3) -> list[str]:
    """Split a tool call's JSON arguments into (up to) ``parts`` consecutive fragments."""
    size = max(1, -(-len(arguments) // parts))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _words(value: Any) -> int:
    """Count whitespace words in a message ``content`` (a string or a list of text parts)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(part.get("text")) for part in value if isinstance(part, dict))
    return 0


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _usage(prompt: int, completion: int, cached: int, reasoning: int) -> JSON:
    """``CompletionUsage`` with the detail objects OpenAI always sends."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


# --------------------------------------------------------------------------------------------
# HTTP plumbing (raw ASGI, so streaming and disconnect detection are explicit).
# --------------------------------------------------------------------------------------------


class _Exchange:
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


_PARSE_ERROR = openai_error(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
    "help center at help.openai.com.)"
)

_SUCCESS_HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "29999990",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "0s",
}


# --------------------------------------------------------------------------------------------
# The fake itself.
# --------------------------------------------------------------------------------------------


class FakeOpenAIUpstream:
    """ASGI app mimicking ``api.openai.com/v1`` for models and chat completions.

    Args:
        api_key: the only key accepted as ``Authorization: Bearer <key>``; others get OpenAI's 401.
            ``None``: no key is asked for, as a local server (vLLM, Ollama) started without one.
        models: ids served by ``/v1/models`` (``created``/``owned_by`` are filled in).
        obfuscation: add OpenAI's ``obfuscation`` padding field to stream chunks by default.
    """

    def __init__(
        self,
        api_key: str | None = "sk-fake-upstream-key",
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        owned_by: str = "system",
        obfuscation: bool = True,
        system_fingerprint: str = "fp_f0a1b2c3d4",
        service_tier: str = "default",
    ) -> None:
        self.api_key = api_key
        self.models: list[JSON] = [
            {"id": m, "object": "model", "created": 1721172741 + i, "owned_by": owned_by}
            for i, m in enumerate(models)
        ]
        self.obfuscation = obfuscation
        self.system_fingerprint = system_fingerprint
        self.service_tier = service_tier
        self.base_url: str | None = None
        self._lock = threading.Lock()
        self._script: deque[Reply | Failure] = deque()
        self._requests: list[RecordedRequest] = []
        self._calls: list[CallRecord] = []
        self._disconnects = 0
        self._release_generation = 0
        self.disconnected = threading.Event()
        """Set the first time a client leaves a chat completion before it was fully sent."""
        self.transcriptions = TranscriptionFake()
        """`POST /v1/audio/transcriptions`: its own script and the forms it received."""
        self.videos = FakeVideosAPI()  # /v1/videos* (tests/fakes/openai_videos_upstream.py)

    # ---- scripting ------------------------------------------------------------------------

    def reply(
        self,
        text: str | None = None,
        *,
        tool_calls: Sequence[ToolCallSpec] | None = None,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        model: str | None = None,
        chunks: Sequence[str] | None = None,
        chunk_delay: float = 0.0,
        delay: float = 0.0,
        hang_after: int | None = None,
        error_after: int | None = None,
        error: JSON | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue the next chat completion's answer.

        ``tool_calls`` are ``(name, arguments)`` pairs (arguments as a JSON string or a dict);
        ``chunks`` overrides how ``text`` is split when streaming; ``chunk_delay`` sleeps between
        stream chunks and ``delay`` before the response starts. ``hang_after=N`` stops a stream
        after N chunks until the client leaves or :meth:`release` is called. ``error_after=N``
        sends ``data: {"error": ...}`` (``error`` or a server error) after N chunks and closes.
        ``headers`` are added to the response.
        """
        self._push(
            Reply(
                text=text,
                tool_calls=tool_calls,
                finish_reason=finish_reason,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cached_tokens=cached_tokens,
                reasoning_tokens=reasoning_tokens,
                model=model,
                chunks=chunks,
                chunk_delay=chunk_delay,
                delay=delay,
                hang_after=hang_after,
                error_after=error_after,
                error=error,
                headers=headers,
            )
        )

    def fail(
        self,
        status: int = 500,
        body: JSON | str | bytes | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue ``times`` error responses for the next chat completions.

        ``body`` defaults to OpenAI's body for ``status``; ``headers`` default to the rate-limit
        headers (with ``retry-after``) for a 429 and to nothing otherwise.
        """
        if headers is None and status == 429:
            headers = rate_limit_headers()
        for _ in range(times):
            self._push(Failure(status, body, headers, content_type))

    def _push(self, item: Reply | Failure) -> None:
        with self._lock:
            self._script.append(item)

    def release(self) -> None:
        """Let every stream currently held by ``hang_after`` continue to its end."""
        with self._lock:
            self._release_generation += 1

    def reset(self) -> None:
        """Forget the script and all records (and release hung streams)."""
        self.release()
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._calls.clear()
            self._disconnects = 0
            self.disconnected.clear()
        self.transcriptions.reset()
        self.videos.reset()

    # ---- observation ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> list[CallRecord]:
        """One live record per successful chat completion, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def disconnects(self) -> int:
        """How many chat completions the client abandoned before the last byte was sent."""
        with self._lock:
            return self._disconnects

    @property
    def pending(self) -> int:
        """How many scripted replies/failures have not been used yet."""
        with self._lock:
            return len(self._script)

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """Block until a client has left mid-response; ``False`` on timeout."""
        return self.disconnected.wait(timeout)

    async def wait_for_disconnect_async(self, timeout: float = 5.0) -> bool:
        """Like :meth:`wait_for_disconnect` without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while not self.disconnected.is_set():
            if time.monotonic() >= deadline:
                return False
            await anyio.sleep(0.01)
        return True

    @contextmanager
    def serve(self, **options: Any) -> Iterator[str]:
        """Run this fake with uvicorn (see :func:`serve_asgi`); yield ``http://127.0.0.1:<port>``."""
        with serve_asgi(self, **options) as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.release()
                self.base_url = None

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
        request = self._record(scope, raw)
        exchange = _Exchange(send)
        method, path = request.method, request.path
        if path.startswith("/v1/") and not await self._authorized(request, exchange):
            return
        if method == "GET" and path == "/v1/models":
            await exchange.json(200, {"object": "list", "data": self.models})
        elif method == "GET" and path.startswith("/v1/models/"):
            await self._retrieve_model(path.removeprefix("/v1/models/"), exchange)
        elif method == "POST" and path == "/v1/chat/completions":
            await self._chat(request, exchange, receive)
        elif method == "POST" and path == "/v1/completions":
            await self._text_completion(request, exchange, receive)
        elif method == "POST" and path == "/v1/embeddings":
            await self._embeddings(request, exchange)
        elif method == "POST" and path == "/v1/audio/transcriptions":
            await self.transcriptions.serve(request.headers, raw, exchange.body)
        elif path.startswith("/v1/videos"):
            await self.videos.handle(scope, raw, exchange)
        else:
            await exchange.json(404, openai_error(f"Invalid URL ({method} {path})"))

    def reply_embeddings(self, **options: Any) -> None:
        """Queue the next embeddings answer (fields of ``EmbeddingsReply``); ``fail`` queues
        an error for it as for a chat completion."""
        self._push(EmbeddingsReply(**options))  # type: ignore[arg-type]

    async def _embeddings(self, request: RecordedRequest, exchange: _Exchange) -> None:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if isinstance(scripted, Failure):
            model = request.body.get("model") if isinstance(request.body, dict) else None
            await self._send_failure(scripted, str(model or ""), exchange)
            return
        reply = scripted if isinstance(scripted, EmbeddingsReply) else EmbeddingsReply()
        await anyio.sleep(reply.delay)
        status, payload = openai_embeddings.answer(request.body, reply)
        await exchange.json(status, payload, _SUCCESS_HEADERS if status == 200 else None)

    def _record(self, scope: Scope, raw: bytes) -> RecordedRequest:
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[name] = f"{headers[name]}, {text}" if name in headers else text
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
            raw,
        )
        with self._lock:
            self._requests.append(request)
        return request

    async def _authorized(self, request: RecordedRequest, exchange: _Exchange) -> bool:
        """OpenAI answers 401 before anything else when the bearer key is missing or wrong."""
        if self.api_key is None:
            return True
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            await exchange.json(401, missing_api_key_error())
            return False
        if key != self.api_key:
            await exchange.json(401, invalid_api_key_error(key))
            return False
        return True

    async def _retrieve_model(self, model_id: str, exchange: _Exchange) -> None:
        for model in self.models:
            if model["id"] == model_id:
                await exchange.json(200, model)
                return
        await exchange.json(404, model_not_found_error(model_id))

    async def _chat(self, request: RecordedRequest, exchange: _Exchange, receive: Receive) -> None:
        body = request.body
        if not isinstance(body, dict):
            await exchange.json(400, _PARSE_ERROR)
            return
        if not body.get("model"):
            await exchange.json(400, openai_error("you must provide a model parameter"))
            return
        if not isinstance(body.get("messages"), list):
            await exchange.json(
                400,
                openai_error(
                    "Missing required parameter: 'messages'.",
                    param="messages",
                    code="missing_required_parameter",
                ),
            )
            return
        with self._lock:
            scripted = self._script.popleft() if self._script else Reply()
        if isinstance(scripted, Failure):
            await self._send_failure(scripted, str(body["model"]), exchange)
            return
        stream = body.get("stream") is True
        record = CallRecord(exchange.request_id, stream)
        with self._lock:
            self._calls.append(record)
        plan = self._plan(body, scripted)
        options = body.get("stream_options") or {}
        if stream:
            plan.obfuscation = self.obfuscation and options.get("include_obfuscation") is not False
        await self._answer(plan, scripted, stream, options, record, exchange, receive)

    async def _answer(
        self,
        plan: Any,
        scripted: Any,
        stream: bool,
        options: dict[str, Any],
        record: CallRecord,
        exchange: _Exchange,
        receive: Receive,
    ) -> None:
        """Stream the plan's chunks or send its completion, noticing a client that leaves."""
        if stream:
            include_usage = options.get("include_usage") is True

            async def work() -> None:
                await self._stream(plan, scripted, include_usage, record, exchange)
        else:

            async def work() -> None:
                await anyio.sleep(scripted.delay)
                record.completed = True
                await exchange.json(200, plan.completion(), plan.extra)

        await self._watch_disconnect(receive, record, work)

    async def _send_failure(self, failure: Failure, model: str, exchange: _Exchange) -> None:
        body = (
            failure.body
            if failure.body is not None
            else _default_failure_body(failure.status, model)
        )
        if isinstance(body, dict):
            await exchange.json(failure.status, body, failure.headers)
            return
        raw = body.encode() if isinstance(body, str) else body
        content_type = failure.content_type or "text/plain; charset=utf-8"
        await exchange.body(failure.status, raw, content_type, failure.headers)

    def _plan(self, body: JSON, reply: Reply) -> _Plan:
        """Resolve a (possibly empty) :class:`Reply` against the request."""
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        text, specs = reply.text, list(reply.tool_calls or [])
        if text is None and not specs:
            text, specs = self._default_answer(body, messages)
        tool_calls = [
            _ToolCall(
                _random_id("call_", 24), name, args if isinstance(args, str) else json.dumps(args)
            )
            for name, args in specs
        ]
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = sum(_words(m.get("content")) for m in messages)
        completion = reply.completion_tokens
        if completion is None:
            completion = _words(text) + sum(
                len(f"{c.name} {c.arguments}".split()) for c in tool_calls
            )
        finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        return _Plan(
            id=_random_id("chatcmpl-", 29),
            created=int(time.time()),
            model=reply.model or str(body["model"]),
            text=text,
            pieces=list(reply.chunks) if reply.chunks is not None else _split_text(text or ""),
            tool_calls=tool_calls,
            finish_reason=finish,
            usage=_usage(prompt, completion, reply.cached_tokens, reply.reasoning_tokens),
            service_tier=self.service_tier,
            system_fingerprint=self.system_fingerprint,
            obfuscation=self.obfuscation,
            extra={**_SUCCESS_HEADERS, **(reply.headers or {})},
        )

    @staticmethod
    def _default_answer(body: JSON, messages: list[JSON]) -> tuple[str | None, list[ToolCallSpec]]:
        """Unscripted: call the chosen/first tool (unless answering a tool result), else echo."""
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "function" in t]
        choice = body.get("tool_choice")
        last_role = messages[-1].get("role") if messages else None
        if tools and choice != "none" and last_role != "tool":
            name = tools[0]["function"].get("name", "tool")
            if isinstance(choice, dict):
                name = choice.get("function", {}).get("name", name)
            return None, [(name, "{}")]
        users = [m for m in messages if m.get("role") == "user"]
        return (_text_of(users[-1].get("content")) if users else "Hello!"), []

    async def _stream(
        self,
        plan: _Plan,
        reply: Reply,
        include_usage: bool,
        record: CallRecord,
        exchange: _Exchange,
    ) -> None:
        """Send ``data: {chunk}`` events, then ``data: [DONE]``, with the reply's timing knobs."""
        await anyio.sleep(reply.delay)
        await exchange.start_stream(plan.extra)
        chunks = plan.chunks(include_usage)
        for index in range(len(chunks) + 1):
            if index == reply.hang_after:
                await self._hang()
            if index == reply.error_after:
                record.completed = True
                await exchange.event(
                    json.dumps(reply.error or server_error(), separators=(",", ":"))
                )
                await exchange.end()
                return
            if index == len(chunks):
                break
            if index and reply.chunk_delay:
                await anyio.sleep(reply.chunk_delay)
            await exchange.event(json.dumps(chunks[index], separators=(",", ":")))
            record.chunks_sent += 1
        record.completed = True
        await exchange.event("[DONE]")
        await exchange.end()

    async def _hang(self) -> None:
        with self._lock:
            generation = self._release_generation
        while True:
            with self._lock:
                if self._release_generation != generation:
                    return
            await anyio.sleep(0.01)

    async def _watch_disconnect(
        self, receive: Receive, record: CallRecord, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``work`` while listening for ``http.disconnect``; cancel it if the client leaves."""
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while True:
                    message = await receive()
                    if message["type"] != "http.disconnect":
                        continue
                    if not record.completed:
                        record.disconnected = True
                        with self._lock:
                            self._disconnects += 1
                        self.disconnected.set()
                        group.cancel_scope.cancel()
                    return

            group.start_soon(watch)
            try:
                await work()
            finally:
                group.cancel_scope.cancel()

    async def _text_completion(
        self, request: RecordedRequest, exchange: _Exchange, receive: Receive
    ) -> None:
        """Legacy ``/v1/completions``, scripted by the same queue as chat completions."""
        body = request.body
        problem = text_completions.request_error(body)
        if problem is not None:
            message, param, code = problem
            await exchange.json(400, openai_error(message, param=param, code=code))
            return
        with self._lock:
            scripted = self._script.popleft() if self._script else Reply()
        if isinstance(scripted, Failure):
            await self._send_failure(scripted, str(body["model"]), exchange)
            return
        stream = body.get("stream") is True
        record = CallRecord(exchange.request_id, stream)
        with self._lock:
            self._calls.append(record)
        plan = text_completions.plan(
            body,
            text=scripted.text,
            finish_reason=scripted.finish_reason,
            prompt_tokens=scripted.prompt_tokens,
            completion_tokens=scripted.completion_tokens,
            model=scripted.model,
            chunks=list(scripted.chunks) if scripted.chunks is not None else None,
            system_fingerprint=self.system_fingerprint,
            headers={**_SUCCESS_HEADERS, **(scripted.headers or {})},
        )
        # A TextPlan renders its chunks like a chat _Plan, so the timing knobs apply.
        options = body.get("stream_options") or {}
        await self._answer(plan, scripted, stream, options, record, exchange, receive)
