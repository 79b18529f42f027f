"""Embeddings end to end: route the model, admit what the input can cost, ask the provider,
and answer in the encoding the client asked for; metered by the input's tokens (the
provider's count, or an estimate when it reports none)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import orjson

from domain import embeddings, estimates
from domain.catalog import ModelEntry
from domain.metering import Usage
from gateway.attempts import Failover
from gateway.auth import Caller
from gateway.routing import admit, own_upstream_only, route
from gateway.runs import Answer
from gateway.services import Services
from gateway.tickets import Claim, Ticket
from providers.base import EmbeddingsProvider
from providers.served import EMBEDDINGS

ENDPOINT = "embeddings"


@dataclass
class EmbeddingsRun:
    """One admitted embeddings request (never streamed)."""

    ticket: Ticket
    body: Mapping[str, Any]
    model: ModelEntry
    provider: EmbeddingsProvider
    failover: Failover[EmbeddingsProvider]
    measured: Usage | None = None
    answered: bool = False
    streamed: bool = False

    @property
    def encoding_format(self) -> str:
        return str(self.body.get("encoding_format") or "float")

    async def complete(self) -> Answer:
        upstream = await self.failover.run(
            lambda its: its.provider.create_embeddings(self.body, its.model)
        )
        self.measured = embeddings.reported_usage(upstream) or await self.usage()
        response = await anyio.to_thread.run_sync(
            embeddings.answer, upstream, self.model.slug, self.encoding_format, self.measured
        )
        self.answered = True
        return Answer(orjson.dumps(response))

    async def usage(self) -> Usage:
        """The upstream's count, else an estimate (the tokenizer's first load: off the loop)."""
        if self.measured is None:
            count = partial(embeddings.estimated_usage, self.body.get("input") or "")
            self.measured = await anyio.to_thread.run_sync(count)
        return self.measured

    def delivered(self) -> bool:
        return self.answered


async def begin_embeddings(
    services: Services, caller: Caller, body: Mapping[str, Any]
) -> EmbeddingsRun:
    """Route the model (404/403) and admit what the input can cost (429); on the user's own
    upstream key (BYOK) it draws on no limit."""
    routed = route(services, caller, body["model"], EMBEDDINGS)
    claim = Claim(prompt_tokens=estimates.input_tokens(body.get("input")))
    ticket = await admit(services, caller, ENDPOINT, routed, claim)
    failover = own_upstream_only(services, routed, ticket)
    return EmbeddingsRun(ticket, body, routed.model, routed.provider, failover)
