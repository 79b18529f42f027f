"""Legacy text completions (`POST /completions`) on the chat pipeline of `usecases/chat.py`.

A model with the `completions` capability whose provider has the endpoint (an OpenAI-compatible
upstream, passed through to its own `/completions`; the offline echo model) is served by the
provider. Any other chat model is served by translation: one chat call per prompt, turned back
into `text_completion` choices (`providers/legacy_completions.py`). Either way the source
yields `text_completion`-shaped chunks, and the chat pipeline (admission, streaming, disconnects,
settling, estimates) runs them with a relabeller for `text_completion` objects.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import anyio

from domain import estimates
from domain.catalog import ModelEntry
from domain.errors import GatewayError, ModelNotSupported
from domain.metering import Usage
from gateway.attempts import Candidate, Failover
from gateway.auth import Caller
from gateway.routing import Routed, admit, candidate_of, chain, route
from gateway.services import Services
from gateway.tickets import Claim
from providers import legacy_completions as legacy
from providers.base import ChatProvider, Chunk, TextCompletionProvider
from providers.chunks import usage_from
from providers.served import CHAT, COMPLETIONS
from usecases.chat import ChatRun, Relabel

W = TypeVar("W", bound=ChatProvider | TextCompletionProvider)
ENDPOINT = "completions"
PARALLEL_PROMPTS = 8  # chat calls in flight at once for one non-streamed list of prompts


def _text_choice(choice: Mapping[str, Any], position: int) -> dict[str, Any]:
    return {
        "text": choice.get("text") or "",
        "index": choice.get("index", position),
        "logprobs": choice.get("logprobs"),
        "finish_reason": legacy.finish_reason(choice.get("finish_reason")),
    }


@dataclass
class TextRelabel(Relabel):
    """Relabel for `text_completion` objects: our `cmpl-` id, created and slug on every chunk,
    OpenAI's legacy finish reasons only, and the text kept for an estimate."""

    id: str = field(default_factory=lambda: f"cmpl-{secrets.token_urlsafe(22)}")

    def apply(self, chunk: Chunk) -> Chunk | None:
        self._note_usage(chunk)
        choices = [_text_choice(c, i) for i, c in enumerate(chunk.get("choices") or [])]
        if not choices:
            return None
        for choice in choices:
            self.produced.append(choice["text"])
            self.finished = self.finished or choice["finish_reason"] is not None
        return self._labelled(chunk, choices)

    def completion(self, upstream: Mapping[str, Any]) -> dict[str, Any]:
        if upstream.get("usage"):
            self.raw_usage, self.usage = dict(upstream["usage"]), usage_from(upstream["usage"])
        choices = [_text_choice(c, i) for i, c in enumerate(upstream["choices"])]
        for choice in choices:
            choice["finish_reason"] = choice["finish_reason"] or "stop"
            self.produced.append(choice["text"])
        return self._labelled(upstream, choices)

    def _labelled(self, source: Mapping[str, Any], choices: list[dict[str, Any]]) -> Chunk:
        labelled = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if isinstance(source.get("system_fingerprint"), str):
            labelled["system_fingerprint"] = source["system_fingerprint"]
        return labelled

    def estimate_prompt(self, body: Mapping[str, Any]) -> int:
        return legacy.estimate_prompt_tokens(body)

    def usage_chunk(self, usage: Usage) -> Chunk:
        return {**self._labelled({}, []), "usage": self.reported_usage(usage)}


@dataclass(frozen=True)
class Source(Generic[W]):
    """An upstream provider serving text completions, as the chat pipeline runs it: named,
    keyed (for its circuit breaker, gateway/attempts.py) and capped as the provider itself."""

    provider: W
    max_tokens_field = "max_tokens"  # a fallback's output cap, in the legacy request's field

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def api_key(self) -> str | None:
        return getattr(self.provider, "api_key", None)


@dataclass(frozen=True)
class PassThrough(Source[TextCompletionProvider]):
    """An upstream's own `/completions`."""

    def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        return self.provider.stream_text_completion(body, model)

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        return await self.provider.complete_text(body, model)


@dataclass(frozen=True)
class Translated(Source[ChatProvider]):
    """A chat provider serving text completions: one chat call per prompt, answered as
    `text_completion` chunks. A list of prompts streams one prompt after the other, and its
    usage (the sum of the chat calls') comes once, at the end."""

    async def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        n, echo = body.get("n") or 1, bool(body.get("echo"))
        usage: dict[str, Any] | None = None
        counted = True
        for position, prompt in enumerate(legacy.prompts_of(body)):
            chunks = legacy.TextChunks(prompt, position * n, echo)
            reported = None
            calls = self.provider.stream_chat(legacy.chat_request(body, prompt), model)
            async with aclosing(cast(AsyncGenerator[Chunk, None], calls)) as stream:
                async for chunk in stream:
                    translated = chunks.translate(chunk)
                    if translated is None:
                        continue
                    reported = translated.pop("usage", None) or reported
                    if translated["choices"]:
                        yield translated
            if reported is None:
                counted = False
            else:
                usage = legacy.add_usage(usage, reported)
        if usage is not None and counted:
            yield {"object": "text_completion", "choices": [], "usage": usage}

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        prompts = legacy.prompts_of(body)
        requests = [legacy.chat_request(body, prompt) for prompt in prompts]
        if len(requests) == 1:
            answers = [await self.provider.complete_chat(requests[0], model)]
        else:
            answers = await self._complete_all(requests, model)
        return legacy.text_completion(body, prompts, answers)

    async def _complete_all(
        self, requests: list[dict[str, Any]], model: ModelEntry
    ) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = [{} for _ in requests]
        limiter = anyio.CapacityLimiter(PARALLEL_PROMPTS)

        async def complete(position: int) -> None:
            async with limiter:
                answers[position] = await self.provider.complete_chat(requests[position], model)

        try:
            async with anyio.create_task_group() as group:
                for position in range(len(requests)):
                    group.start_soon(complete, position)
        except BaseExceptionGroup as failures:
            # The first failing prompt's error is the request's (the others were cancelled).
            failure = _first_gateway_error(failures)
            if failure is None:
                raise
            raise failure from None
        return answers


def _first_gateway_error(group: BaseExceptionGroup) -> GatewayError | None:
    for exc in group.exceptions:
        if isinstance(exc, GatewayError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_gateway_error(exc)
            if found is not None:
                return found
    return None


def _source(
    services: Services, caller: Caller, slug: str, body: Mapping[str, Any]
) -> Routed[ChatProvider]:
    """Pass-through when the model is a completions model on an upstream that has the
    endpoint, else translation through its chat API; 404 for a model with neither, 400 for a
    request its chat API cannot honour."""
    entry = services.catalog.lookup(slug, services.registry.configured, caller.plan)
    native = services.registry.serving(entry.provider, COMPLETIONS)
    if "completions" in entry.capabilities and native is not None:
        passed = route(services, caller, slug, COMPLETIONS)
        return Routed(passed.model, PassThrough(passed.provider), passed.own_key)
    if "chat" not in entry.capabilities:
        raise ModelNotSupported(slug, "text completions")
    routed = route(services, caller, slug, CHAT)
    # Only OpenAI's chat wire format returns log probabilities, and a provider with its own
    # completions endpoint speaks it (echo's chat would give none, but its one model has the
    # `completions` capability and never comes here).
    speaks_openai = native is not None
    legacy.check_translatable(body, logprobs=speaks_openai)
    legacy.prompts_of(body)  # a prompt the chat API cannot take is refused before admission
    return Routed(routed.model, Translated(routed.provider), routed.own_key)


def _candidates(
    services: Services, caller: Caller, body: Mapping[str, Any]
) -> list[Candidate[ChatProvider]]:
    """The request's model (its errors are the request's), then its fallbacks, each served
    natively or by translation, as it would be if named first."""
    first = _source(services, caller, body["model"], body)
    fallbacks = body.get("models") or ()
    routes = chain(caller, first, fallbacks, lambda other: _source(services, caller, other, body))
    return [candidate_of(services, routed) for routed in routes]


def completion_claim(body: Mapping[str, Any]) -> Claim:
    """What a legacy completions request can cost: its prompts, and `max_tokens` (16 when
    unset, as on OpenAI) for each of the `n` (or `best_of`) choices of each prompt."""
    prompt = body.get("prompt")
    prompts = len(prompt) if isinstance(prompt, list) and prompt and not _token_ids(prompt) else 1
    choices = max(int(body.get("n") or 1), int(body.get("best_of") or 1))
    limit = legacy.DEFAULT_MAX_TOKENS if body.get("max_tokens") is None else body["max_tokens"]
    return Claim(
        prompt_tokens=estimates.input_tokens(prompt) + estimates.input_tokens(body.get("suffix")),
        max_output=int(limit),
        choices=prompts * choices,
        lowerable=True,
        stated_output=int(limit) * prompts * choices,
    )


def _token_ids(prompt: list[Any]) -> bool:
    return all(isinstance(item, int) for item in prompt)


async def begin_completion(services: Services, caller: Caller, body: Mapping[str, Any]) -> ChatRun:
    """Route the model (404/403), refuse what it cannot honour (400), and admit what the
    request can cost (429); the user's own upstream key (BYOK) draws on no limit. Retries,
    circuit breakers and fallbacks as for chat (gateway/attempts.py)."""
    chain = _candidates(services, caller, body)
    first = chain[0]
    body = {name: value for name, value in body.items() if name != "models"}
    claim = completion_claim(body)
    ticket = await admit(services, caller, ENDPOINT, first, claim)
    if ticket.output_allowance is not None:
        body = {**body, "max_tokens": ticket.output_allowance}
    failover = Failover(chain, services.breakers, ticket)
    relabel = TextRelabel(first.model.slug)
    run = ChatRun(ticket, body, first.model, first.provider, relabel, failover)
    ticket.progress = lambda: run.relabel.progress(claim.prompt_tokens)
    return run
