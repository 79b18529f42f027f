"""Embeddings end to end: route the model, admit against the quota, ask the provider, answer
in the encoding the client asked for, and meter the request's prompt tokens (the provider's
count, or an estimate when it reports none)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from domain import embeddings
from domain.catalog import ModelEntry
from domain.errors import GatewayError
from domain.metering import Usage
from gateway.auth import Caller
from gateway.chat import metering_headers
from gateway.metering import Admission, Meter, Outcome
from gateway.routing import route
from gateway.services import Services
from providers.base import EmbeddingsProvider

ENDPOINT = "embeddings"


@dataclass
class EmbeddingsRun:
    """One admitted embeddings request."""

    caller: Caller
    body: Mapping[str, Any]
    model: ModelEntry
    provider: EmbeddingsProvider
    meter: Meter
    admission: Admission

    @property
    def encoding_format(self) -> str:
        return str(self.body.get("encoding_format") or "float")

    async def complete(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The `CreateEmbeddingResponse` and its metering headers; the request is metered
        once whatever happens (shielded, so a client's disconnect can't skip it)."""
        status, http_status, usage = "client_disconnected", 499, None
        try:
            upstream = await self.provider.create_embeddings(self.body, self.model)
            usage = embeddings.reported_usage(upstream) or await self._estimate()
            response = await anyio.to_thread.run_sync(
                embeddings.answer, upstream, self.model.slug, self.encoding_format, usage
            )
            status, http_status = "completed", 200
        except GatewayError as exc:
            status, http_status = "upstream_error", exc.status
            raise
        finally:
            with anyio.CancelScope(shield=True):
                outcome = Outcome(usage or await self._estimate(), status, http_status)
                route = (ENDPOINT, self.model.slug, self.model.provider)
                allowance = await self.meter.settle(self.caller, self.admission, route, outcome)
        remaining = allowance.remaining if allowance is not None else None
        return response, metering_headers(outcome.messages, remaining)

    async def _estimate(self) -> Usage:
        """Counting tokens loads the tokenizer the first time: off the event loop."""
        count = partial(embeddings.estimated_usage, self.body.get("input") or "")
        return await anyio.to_thread.run_sync(count)


async def begin_embeddings(
    services: Services, caller: Caller, body: Mapping[str, Any]
) -> EmbeddingsRun:
    """Route the model (404/403) and admit the request against the daily limit (429); on the
    user's own upstream key (BYOK) it draws on no limit."""
    routed = route(services, caller, body["model"], "embeddings", EmbeddingsProvider)
    admission = await services.meter.admit(caller, charged=not routed.own_key)
    return EmbeddingsRun(
        caller=caller,
        body=body,
        model=routed.model,
        provider=routed.provider,
        meter=services.meter,
        admission=admission,
    )
