"""Chat completions end to end: route the model, admit what the request can cost, run the
provider's stream, repair and relabel its chunks, and either stream them to the client or
collect them into one `chat.completion` (web/answers.py runs and settles it)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import orjson

from domain import estimates
from domain.catalog import ModelEntry
from domain.charges import Ending
from domain.errors import Fault, GatewayError, UpstreamError, UpstreamTimeout
from domain.metering import Usage
from domain.retries import falls_back
from domain.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.attempts import Candidate, Failover
from gateway.auth import Caller
from gateway.routing import admit, candidates
from gateway.runs import Answer
from gateway.services import Services
from gateway.tickets import Claim, Ticket
from providers import sse
from providers.base import PARTIAL_USAGE, ChatProvider, Chunk
from providers.chunks import (
    ToolCallRepair,
    answer_extras,
    public_usage,
    repair_choice,
    repair_completion_choice,
    usage_from,
    usage_payload,
)
from providers.served import CHAT

ENDPOINT = "chat.completions"
CHARS_PER_OUTPUT_TOKEN = 4  # for the progress a heartbeat records; the settle is exact


@dataclass
class Relabel:
    """Gives every chunk of one response the same id, created and model (our slug), repairs
    choices, and keeps what metering needs: the upstream's usage (final, or what it reported
    so far), or the text produced, for an estimate."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_urlsafe(22)}")
    created: int = field(default_factory=lambda: int(time.time()))
    tools: ToolCallRepair = field(default_factory=ToolCallRepair)
    usage: Usage | None = None
    partial: Usage | None = None  # reported before the end (Anthropic's message_start)
    raw_usage: dict[str, Any] | None = None
    produced: list[str] = field(default_factory=list)
    finished: bool = False

    def fresh(self, model: str) -> Relabel:
        """The same labels for another attempt's answer, served by `model`, nothing kept."""
        return type(self)(model=model, id=self.id, created=self.created)

    def apply(self, chunk: Chunk) -> Chunk | None:
        """The chunk to send on, or None when it only carried usage."""
        self._note_usage(chunk)
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
        return relabeled | answer_extras(chunk)

    def _note_usage(self, chunk: Chunk) -> None:
        if chunk.get("usage"):
            self.raw_usage, self.usage = chunk["usage"], usage_from(chunk["usage"])
        elif chunk.get(PARTIAL_USAGE):
            self.partial = usage_from(chunk[PARTIAL_USAGE])

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
            **answer_extras(upstream),
        }

    def _remember(self, part: Mapping[str, Any]) -> None:
        """Keep what a delta or a message produced, for an estimate if no usage comes."""
        self.produced.append(part.get("content") or "")
        for call in part.get("tool_calls") or []:
            function = call.get("function") or {}
            self.produced.append(f"{function.get('name', '')}{function.get('arguments', '')}")
        reasoning = part.get("reasoning_content")
        if isinstance(reasoning, str):
            self.produced.append(reasoning)

    def delivered(self) -> bool:
        """Whether any output (text, reasoning or a tool call) was produced."""
        return any(self.produced)

    def final_usage(self, body: Mapping[str, Any]) -> Usage:
        """The upstream's usage; else what it reported so far (its prompt count) completed
        with an estimate of the output; else an estimate with the offline tokenizer."""
        if self.usage is None:
            partial = self.partial or Usage()
            completion = estimate_tokens("".join(self.produced))
            self.usage = Usage(
                prompt_tokens=partial.prompt_tokens or self.estimate_prompt(body),
                completion_tokens=max(partial.completion_tokens, completion),
                cached_tokens=partial.cached_tokens,
                estimated=True,
            )
        return self.usage

    def estimate_prompt(self, body: Mapping[str, Any]) -> int:
        return estimate_prompt_tokens(body.get("messages") or [])

    async def measured_usage(self, body: Mapping[str, Any]) -> Usage:
        """final_usage, with any tokenizing (and the tokenizer's first load) off the loop."""
        if self.usage is not None:
            return self.usage
        return await anyio.to_thread.run_sync(self.final_usage, body)

    def progress(self, prompt_estimate: int) -> Usage:
        """A cheap estimate of the usage so far, for the lease renewals (no tokenizer)."""
        if self.usage is not None:
            return self.usage
        partial = self.partial or Usage()
        produced = sum(len(text) for text in self.produced) // CHARS_PER_OUTPUT_TOKEN
        return Usage(
            prompt_tokens=partial.prompt_tokens or prompt_estimate,
            completion_tokens=max(partial.completion_tokens, produced),
            cached_tokens=partial.cached_tokens,
            estimated=True,
        )

    def reported_usage(self, usage: Usage) -> dict[str, Any]:
        """The upstream's own usage object when it sent one (with its details, without its
        prices), else ours."""
        return public_usage(self.raw_usage) if self.raw_usage else usage_payload(usage)

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
    """One admitted chat request, as web/answers.py runs it: on its model, or on the
    fallback that serves it (gateway/attempts.py), before any output reached the client."""

    ticket: Ticket
    body: Mapping[str, Any]
    model: ModelEntry  # the model of the current attempt: in the end, the one that served
    provider: ChatProvider
    relabel: Relabel
    failover: Failover[Any]
    _chunks: AsyncGenerator[Chunk, None] | None = None
    _early: list[Chunk] = field(default_factory=list)  # read before the first output
    _sent: Mapping[str, Any] | None = None  # the body of the current attempt

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def include_usage(self) -> bool:
        return bool((self.body.get("stream_options") or {}).get("include_usage"))

    def _use(self, candidate: Candidate[Any]) -> Mapping[str, Any]:
        """Aim the run at a candidate: what was produced on another attempt is not charged."""
        self.model, self.provider = candidate.model, candidate.provider
        self.relabel = self.relabel.fresh(candidate.model.slug)
        primary = candidate is self.failover.candidates[0]
        self._sent = self.body if primary else fitted(self.body, candidate, self.ticket)
        return self._sent

    async def completion(self) -> dict[str, Any]:
        """One `chat.completion`, from the provider's non-streaming call, with its usage."""

        async def attempt(candidate: Candidate[Any]) -> Any:
            body = self._use(candidate)
            return await candidate.provider.complete_chat(body, candidate.model)

        upstream = await self.failover.run(attempt)
        completion = self.relabel.completion(upstream)  # the relabel of the attempt that served
        completion["usage"] = self.relabel.reported_usage(await self.usage())
        return completion

    async def complete(self) -> Answer:
        return Answer(orjson.dumps(await self.completion()))

    async def open(self) -> None:
        """Start the stream on the first candidate whose first output comes in time."""

        async def attempt(candidate: Candidate[Any]) -> None:
            body = self._use(candidate)
            chunks = candidate.provider.stream_chat(body, candidate.model)
            try:
                deadline = candidate.policy.deadlines.first_token
                async with asyncio.timeout(deadline):
                    self._early = await until_output(chunks)
            except TimeoutError:
                await chunks.aclose()  # type: ignore[attr-defined]
                raise first_token_late(deadline) from None
            except BaseException:
                await chunks.aclose()  # type: ignore[attr-defined]
                raise
            self._chunks = chunks  # type: ignore[assignment]

        await self.failover.run(attempt)

    async def chunks(self) -> AsyncIterator[Chunk]:
        """The upstream's chunks relabelled; an UpstreamError if it ends before finishing."""
        assert self._chunks is not None
        try:
            for chunk in self._early:
                relabeled = self.relabel.apply(chunk)
                if relabeled is not None:
                    yield relabeled
            async for chunk in self._chunks:
                relabeled = self.relabel.apply(chunk)
                if relabeled is not None:
                    yield relabeled
            if not self.relabel.finished:
                raise UpstreamError("The upstream stream ended before the response was complete.")
        except GatewayError as error:
            if falls_back(error):
                await self.failover.failed_after_output()
            raise
        finally:
            await self._chunks.aclose()

    async def frames(self) -> AsyncIterator[bytes]:
        include_usage = self.include_usage
        async for chunk in self.chunks():
            if include_usage:
                chunk["usage"] = None
            yield sse.encode(chunk)

    async def ending_frames(self, ending: Ending, error: GatewayError | None) -> list[bytes]:
        if error is not None:
            return [sse.encode(error.body())]
        frames = []
        if self.include_usage:
            frames.append(sse.encode(self.relabel.usage_chunk(ending.usage)))
        return [*frames, sse.DONE]

    async def usage(self) -> Usage:
        return await self.relabel.measured_usage(self._sent or self.body)

    def delivered(self) -> bool:
        return self.relabel.delivered()


def first_token_late(seconds: float) -> UpstreamTimeout:
    error = UpstreamTimeout(
        f"The upstream provider sent no output within {seconds:g} s.", code="first_token_timeout"
    )
    error.fault = Fault(retryable=False)
    return error


def _has_output(chunk: Chunk) -> bool:
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if choice.get("finish_reason") is not None or delta.get("tool_calls"):
            return True
        if delta.get("content") or delta.get("reasoning_content") or delta.get("refusal"):
            return True
        if choice.get("text"):  # a legacy completion's chunk
            return True
    return False


async def until_output(chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    """The chunks up to and including the first with output (text, reasoning, a tool call or
    a finish); before it, a failure is still the request's to retry elsewhere."""
    early = []
    async for chunk in chunks:
        early.append(chunk)
        if _has_output(chunk):
            break
    return early


def fitted(body: Mapping[str, Any], candidate: Candidate[Any], ticket: Ticket) -> Mapping[str, Any]:
    """The request as a fallback gets it: one whose own maximum output is larger than what
    admission reserved for (on the request's model) gets the reserved allowance as its cap."""
    reserved = ticket.claim.max_output
    if candidate.model.output_limit <= reserved or ticket.output_allowance is not None:
        return body
    if body.get("max_completion_tokens") or body.get("max_tokens"):
        return body
    return capped(body, reserved, max_tokens_field(candidate.provider))


def chat_claim(body: Mapping[str, Any], model: ModelEntry) -> Claim:
    """What a chat request can cost: its prompt and, for each of its `n` choices, its own
    output cap or else the model's maximum; the cap may be lowered to fit."""
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    choices = int(body.get("n") or 1)
    return Claim(
        prompt_tokens=estimates.chat_prompt_tokens(body),
        max_output=int(requested or model.output_limit),
        choices=choices,
        lowerable=True,
        stated_output=int(requested or 0) * choices,
    )


def capped(body: Mapping[str, Any], allowance: int | None, field_name: str) -> Mapping[str, Any]:
    """The request with its output cap lowered to `allowance` (the field it already uses, else
    the one its provider takes)."""
    if allowance is None:
        return body
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            return {**body, name: allowance}
    return {**body, field_name: allowance}


def max_tokens_field(provider: object) -> str:
    return str(getattr(provider, "max_tokens_field", "max_completion_tokens"))


async def begin_chat(
    services: Services, caller: Caller, body: Mapping[str, Any], endpoint: str = ENDPOINT
) -> ChatRun:
    """Route the model (404/403) and admit what the request can cost (429). With the user's
    own key for the model's provider (BYOK), the request goes out with that key and draws on
    no limit."""
    chain = candidates(services, caller, body["model"], body.get("models") or (), CHAT)
    first = chain[0]
    body = {name: value for name, value in body.items() if name != "models"}
    claim = chat_claim(body, first.model)
    ticket = await admit(services, caller, endpoint, first, claim)
    body = capped(body, ticket.output_allowance, max_tokens_field(first.provider))
    failover = Failover(chain, services.breakers, ticket)
    run = ChatRun(ticket, body, first.model, first.provider, Relabel(first.model.slug), failover)
    ticket.progress = lambda: run.relabel.progress(claim.prompt_tokens)
    return run
