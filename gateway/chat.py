"""Chat completions end to end: route the model, admit against the quota, run the provider's
stream, repair and relabel its chunks, meter what was produced, and either stream the chunks to
the client or collect them into one `chat.completion`."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from domain.catalog import ModelEntry
from domain.errors import GatewayError, UpstreamError
from domain.metering import Usage
from domain.ratelimit import Reservation
from domain.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.auth import Caller
from gateway.metering import Admission, Meter, Outcome
from gateway.rate_limits import RateLimits, placeholder_token_estimate
from gateway.routing import route
from gateway.services import Services
from gateway.sse_response import SSEResponse
from providers import sse
from providers.base import ChatProvider, Chunk
from providers.chunks import (
    ToolCallRepair,
    repair_choice,
    repair_completion_choice,
    usage_from,
    usage_payload,
)

ENDPOINT = "chat.completions"


@dataclass
class Relabel:
    """Gives every chunk of one response the same id, created and model (our slug), repairs
    choices, and keeps what metering needs: the upstream's usage, or text for an estimate."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_urlsafe(22)}")
    created: int = field(default_factory=lambda: int(time.time()))
    tools: ToolCallRepair = field(default_factory=ToolCallRepair)
    usage: Usage | None = None
    raw_usage: dict[str, Any] | None = None
    produced: list[str] = field(default_factory=list)
    finished: bool = False

    def apply(self, chunk: Chunk) -> Chunk | None:
        """The chunk to send on, or None when it only carried usage."""
        if chunk.get("usage"):
            self.raw_usage, self.usage = chunk["usage"], usage_from(chunk["usage"])
        choices = [repair_choice(c, self.tools) for c in chunk.get("choices") or []]
        if not choices:
            return None
        for choice in choices:
            self._remember(choice["delta"])
            self.finished = self.finished or choice["finish_reason"] is not None
        relabeled = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        for key in ("system_fingerprint", "service_tier"):
            if key in chunk:
                relabeled[key] = chunk[key]
        return relabeled

    def completion(self, upstream: Mapping[str, Any]) -> dict[str, Any]:
        """A non-streamed answer relabelled and repaired like the chunks of a stream."""
        if upstream.get("usage"):
            self.raw_usage, self.usage = dict(upstream["usage"]), usage_from(upstream["usage"])
        choices = [repair_completion_choice(c, i) for i, c in enumerate(upstream["choices"])]
        for choice in choices:
            self._remember(choice["message"])
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "system_fingerprint": upstream.get("system_fingerprint"),
            "service_tier": upstream.get("service_tier"),
        }

    def _remember(self, part: Mapping[str, Any]) -> None:
        """Keep what a delta or a message produced, for an estimate if no usage comes."""
        self.produced.append(part.get("content") or "")
        for call in part.get("tool_calls") or []:
            function = call.get("function") or {}
            self.produced.append(f"{function.get('name', '')}{function.get('arguments', '')}")

    def final_usage(self, body: Mapping[str, Any]) -> Usage:
        """The upstream's usage, or else an estimate with the offline tokenizer (made once)."""
        if self.usage is None:
            self.usage = Usage(
                prompt_tokens=estimate_prompt_tokens(body.get("messages") or []),
                completion_tokens=estimate_tokens("".join(self.produced)),
                estimated=True,
            )
        return self.usage

    async def measured_usage(self, body: Mapping[str, Any]) -> Usage:
        """final_usage, with any tokenizing (and the tokenizer's first load) off the loop."""
        if self.usage is not None:
            return self.usage
        return await anyio.to_thread.run_sync(self.final_usage, body)

    def reported_usage(self, usage: Usage) -> dict[str, Any]:
        """The upstream's own usage object when it sent one (with its details), else ours."""
        return self.raw_usage or usage_payload(usage)

    def usage_chunk(self, usage: Usage) -> Chunk:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.reported_usage(usage),
        }


@dataclass
class ChatRun:
    """One admitted chat request."""

    caller: Caller
    body: Mapping[str, Any]
    model: ModelEntry
    provider: ChatProvider
    meter: Meter
    admission: Admission
    relabel: Relabel
    settled: bool = False
    endpoint: str = ENDPOINT  # as the ledger names it; other APIs built on chat set their own
    rate_limits: RateLimits | None = None
    tokens: Reservation | None = None  # reserved against the key's tokens per minute

    @property
    def remaining(self) -> int | None:
        allowance = self.admission.allowance
        return allowance.remaining if allowance is not None else None

    def chunks(self) -> AsyncGenerator[Chunk, None]:
        return self.provider.stream_chat(self.body, self.model)  # type: ignore[return-value]

    async def settle(self, status: str, http_status: int) -> int | None:
        """Meter the request, once; shielded so a client's disconnect can't skip it."""
        if self.settled:
            return None
        self.settled = True
        route = (self.endpoint, self.model.slug, self.model.provider)
        with anyio.CancelScope(shield=True):
            usage = await self.relabel.measured_usage(self.body)
            if self.rate_limits is not None:
                used = 0 if status == "upstream_error" else usage.total_tokens
                await self.rate_limits.settle_tokens(self.caller, self.tokens, used)
            outcome = Outcome(usage, status, http_status)
            allowance = await self.meter.settle(self.caller, self.admission, route, outcome)
        return allowance.remaining if allowance is not None else None

    async def complete(self) -> tuple[dict[str, Any], dict[str, str]]:
        """One `chat.completion`, from the provider's non-streaming call."""
        status, http_status = "client_disconnected", 499
        try:
            completion = self.relabel.completion(
                await self.provider.complete_chat(self.body, self.model)
            )
            status, http_status = "completed", 200
        except GatewayError as exc:
            status, http_status = "upstream_error", exc.status
            raise
        finally:
            remaining = await self.settle(status, http_status)
        usage = self.relabel.final_usage(self.body)
        completion["usage"] = self.relabel.reported_usage(usage)
        return completion, metering_headers(Outcome(usage, status, 200).messages, remaining)


async def begin_chat(
    services: Services, caller: Caller, body: Mapping[str, Any], endpoint: str = ENDPOINT
) -> ChatRun:
    """Route the model (404/403) and admit the request against the daily limit (429). With the
    user's own key for the model's provider (BYOK), the request goes out with that key and
    draws on no limit."""
    routed = route(services, caller, body["model"], "chat", ChatProvider)
    rates = services.rate_limits
    estimate = placeholder_token_estimate(body) if caller.tpm_limit else 0
    tokens = await rates.reserve_tokens(caller, estimate)
    try:
        admission = await services.meter.admit(caller, charged=not routed.own_key)
    except GatewayError:
        await rates.settle_tokens(caller, tokens, 0)
        raise
    return ChatRun(
        caller=caller,
        body=body,
        model=routed.model,
        provider=routed.provider,
        meter=services.meter,
        admission=admission,
        relabel=Relabel(model=routed.model.slug),
        endpoint=endpoint,
        rate_limits=rates,
        tokens=tokens,
    )


def metering_headers(counted: int | None, remaining: int | None) -> dict[str, str]:
    headers = {}
    if counted is not None:
        headers["x-writingmate-messages-counted"] = str(counted)
    if remaining is not None:
        headers["x-writingmate-messages-remaining"] = str(remaining)
    return headers


class MeteredStream(SSEResponse):
    """Settles its request even when the stream never started (the client left before the
    first byte, so the relay's own `finally` never ran); settling twice is a no-op."""

    def __init__(
        self, run: ChatRun, frames: AsyncIterator[bytes], headers: Mapping[str, str]
    ) -> None:
        super().__init__(frames, headers)
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.run.settle("client_disconnected", 499)


Relay = Callable[[ChatRun, Chunk | None, AsyncGenerator[Chunk, None]], AsyncIterator[bytes]]


async def open_stream(run: ChatRun, relay_with: Relay | None = None) -> AsyncIterator[bytes]:
    """Start the upstream stream and wait for its first chunk, so that a failure before any
    output is still an ordinary JSON error with its status; then relay the rest as SSE
    (`relay_with`: another API's relay of the same chunks, such as /responses' events)."""
    chunks = run.chunks()
    try:
        first = await anext(chunks, None)
    except GatewayError as exc:
        await run.settle("upstream_error", exc.status)
        raise
    except BaseException:  # the client left while the upstream had not answered yet
        await run.settle("client_disconnected", 499)
        raise
    return (relay_with or relay)(run, first, chunks)


async def relay(
    run: ChatRun, first: Chunk | None, chunks: AsyncGenerator[Chunk, None]
) -> AsyncIterator[bytes]:
    """Relay the chunks as SSE. The request is metered before the stream's last frame, so a
    client that has seen `[DONE]` (or the error event) finds its ledger row written."""
    include_usage = bool((run.body.get("stream_options") or {}).get("include_usage"))
    try:
        async for frame in _frames(run, first, chunks, include_usage):
            yield frame
        await run.settle("completed", 200)
        yield sse.DONE
    except GatewayError as exc:
        # What was streamed before the failure was delivered, so it is metered.
        await run.settle("interrupted", exc.status)
        yield sse.encode(exc.body())
    finally:
        await chunks.aclose()
        await run.settle("client_disconnected", 499)  # a no-op once settled above


async def _chain(first: Chunk | None, rest: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    if first is not None:
        yield first
    async for chunk in rest:
        yield chunk


async def _frames(
    run: ChatRun, first: Chunk | None, chunks: AsyncIterator[Chunk], include_usage: bool
) -> AsyncIterator[bytes]:
    async for chunk in _chain(first, chunks):
        relabeled = run.relabel.apply(chunk)
        if relabeled is None:
            continue
        if include_usage:
            relabeled["usage"] = None
        yield sse.encode(relabeled)
    if not run.relabel.finished:
        raise UpstreamError("The upstream stream ended before the response was complete.")
    if include_usage:
        yield sse.encode(run.relabel.usage_chunk(await run.relabel.measured_usage(run.body)))
