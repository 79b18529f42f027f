"""A fake OpenAI upstream that speaks OpenAI's real wire format, for tests.

Serves ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions`` (answers from
``openai_chat.py``) and the legacy ``POST /v1/completions`` (from ``text_completions.py``)
exactly as OpenAI answers them, as specified by the official schemas in
``openai-openapi-subset.yaml``: ``ListModelsResponse``/``Model``,
``CreateChatCompletionResponse``, ``CreateChatCompletionStreamResponse`` and ``ErrorResponse``
(``openai_errors.py``). ``POST /v1/embeddings`` is served by ``openai_embeddings.py``,
``POST /v1/audio/transcriptions`` by ``openai_transcriptions.py`` and ``/v1/videos*`` by
``openai_videos_upstream.py``.

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

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from . import openai_chat, openai_embeddings, text_completions
from .openai_chat import Reply, ToolCallSpec
from .openai_embeddings import EmbeddingsReply
from .openai_errors import (
    Failure,
    invalid_api_key_error,
    missing_api_key_error,
    model_not_found_error,
    openai_error,
    rate_limit_headers,
    send_failure,
)
from .openai_exchange import SUCCESS_HEADERS, Exchange
from .openai_live_calls import CallRecord, LiveCalls
from .openai_requests import RecordedRequest, recorded_request
from .openai_transcriptions import TranscriptionFake
from .openai_videos_upstream import FakeVideosAPI
from .scripted import ScriptedFake
from .server import answer_lifespan, read_body

__all__ = ["DEFAULT_MODELS", "FakeOpenAIUpstream"]

JSON = dict[str, Any]
DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini")


class FakeOpenAIUpstream(ScriptedFake["Reply | Failure", RecordedRequest]):
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
        super().__init__()
        self.api_key = api_key
        self.models: list[JSON] = [
            {"id": m, "object": "model", "created": 1721172741 + i, "owned_by": owned_by}
            for i, m in enumerate(models)
        ]
        self.obfuscation = obfuscation
        self.system_fingerprint = system_fingerprint
        self.service_tier = service_tier
        self._live = LiveCalls()
        self.disconnected = self._live.disconnected
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
        reply = Reply(
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
        self._push([reply])

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
        self._push(Failure(status, body, headers, content_type) for _ in range(times))

    def reply_embeddings(self, **options: Any) -> None:
        """Queue the next embeddings answer (fields of ``EmbeddingsReply``); ``fail`` queues
        an error for it as for a chat completion."""
        self._push([EmbeddingsReply(**options)])  # type: ignore[list-item]

    def release(self) -> None:
        """Let every stream currently held by ``hang_after`` continue to its end."""
        self._live.release()

    def reset(self) -> None:
        """Forget the script and all records (and release hung streams)."""
        self._live.reset()
        super().reset()
        self.transcriptions.reset()
        self.videos.reset()

    # ---- observation ----------------------------------------------------------------------

    @property
    def calls(self) -> list[CallRecord]:
        """One live record per successful chat completion, oldest first."""
        return self._live.calls

    @property
    def disconnects(self) -> int:
        """How many chat completions the client abandoned before the last byte was sent."""
        return self._live.disconnects

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
        return await self._live.wait_for_disconnect(timeout)

    @contextmanager
    def serve(self, **options: Any) -> Iterator[str]:
        """Run this fake with uvicorn (see :func:`serve_asgi`); yield ``http://127.0.0.1:<port>``.
        Held streams are released before the server stops."""
        with super().serve(**options) as url:
            try:
                yield url
            finally:
                self.release()

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
        request = recorded_request(scope, raw)
        self._record(request)
        exchange = Exchange(send)
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

    async def _authorized(self, request: RecordedRequest, exchange: Exchange) -> bool:
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

    async def _retrieve_model(self, model_id: str, exchange: Exchange) -> None:
        for model in self.models:
            if model["id"] == model_id:
                await exchange.json(200, model)
                return
        await exchange.json(404, model_not_found_error(model_id))

    async def _chat(self, request: RecordedRequest, exchange: Exchange, receive: Receive) -> None:
        body = request.body
        problem = openai_chat.request_error(body)
        if problem is not None:
            await exchange.json(400, problem)
            return
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            await send_failure(scripted, str(body["model"]), exchange)
            return
        record = self._live.start(exchange.request_id, body.get("stream") is True)
        plan = openai_chat.plan(
            body,
            scripted,
            service_tier=self.service_tier,
            system_fingerprint=self.system_fingerprint,
            obfuscation=self.obfuscation,
            headers={**SUCCESS_HEADERS, **(scripted.headers or {})},
        )
        options = body.get("stream_options") or {}
        if record.stream:
            plan.obfuscation = self.obfuscation and options.get("include_obfuscation") is not False
        await self._live.answer(plan, scripted, options, record, exchange, receive)

    async def _text_completion(
        self, request: RecordedRequest, exchange: Exchange, receive: Receive
    ) -> None:
        """Legacy ``/v1/completions``, scripted by the same queue as chat completions."""
        body = request.body
        problem = text_completions.request_error(body)
        if problem is not None:
            message, param, code = problem
            await exchange.json(400, openai_error(message, param=param, code=code))
            return
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            await send_failure(scripted, str(body["model"]), exchange)
            return
        record = self._live.start(exchange.request_id, body.get("stream") is True)
        plan = text_completions.plan(
            body,
            text=scripted.text,
            finish_reason=scripted.finish_reason,
            prompt_tokens=scripted.prompt_tokens,
            completion_tokens=scripted.completion_tokens,
            model=scripted.model,
            chunks=list(scripted.chunks) if scripted.chunks is not None else None,
            system_fingerprint=self.system_fingerprint,
            headers={**SUCCESS_HEADERS, **(scripted.headers or {})},
        )
        # A TextPlan renders its chunks like a chat plan, so the timing knobs apply.
        options = body.get("stream_options") or {}
        await self._live.answer(plan, scripted, options, record, exchange, receive)

    async def _embeddings(self, request: RecordedRequest, exchange: Exchange) -> None:
        scripted = self._next(Reply())
        if isinstance(scripted, Failure):
            model = request.body.get("model") if isinstance(request.body, dict) else None
            await send_failure(scripted, str(model or ""), exchange)
            return
        reply = scripted if isinstance(scripted, EmbeddingsReply) else EmbeddingsReply()
        await anyio.sleep(reply.delay)
        status, payload = openai_embeddings.answer(request.body, reply)
        await exchange.json(status, payload, SUCCESS_HEADERS if status == 200 else None)
