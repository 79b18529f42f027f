"""Which model and provider serve a request: the catalog decides the model (404 unknown or
not serving the endpoint, 403 outside the plan), the registry the provider, and the user's own
upstream key (BYOK) replaces the gateway's where the provider allows it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.catalog import ENDPOINT_NAMES, ModelEntry
from domain.errors import GatewayError, ModelNotSupported
from gateway.attempts import Candidate, Failover, candidate
from gateway.auth import Caller
from gateway.services import Services
from gateway.tickets import Claim, Route, Ticket
from providers.base import VideoProvider
from providers.served import VIDEOS, Endpoint

log = logging.getLogger("wmgw.routing")

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Routed(Generic[P]):
    model: ModelEntry
    provider: P
    own_key: bool  # the request goes out with the user's own key: it draws on no limit


def route(services: Services, caller: Caller, slug: str, endpoint: Endpoint[P]) -> Routed[P]:
    """The model `slug` for `endpoint`, and its provider on that endpoint."""
    capability = endpoint.capability
    registry = services.registry
    model = services.catalog.route(slug, caller.plan, registry.configured, capability)
    provider = registry.serving(model.provider, endpoint)
    if provider is None:
        raise ModelNotSupported(slug, ENDPOINT_NAMES.get(capability, capability))
    own = registry.with_user_key(model.provider, caller.own_key(model.provider), endpoint)
    if own is not None:
        return Routed(model, own, own_key=True)
    return Routed(model, provider, own_key=False)


def candidates(
    services: Services,
    caller: Caller,
    slug: str,
    fallbacks: Sequence[str],
    endpoint: Endpoint[P],
) -> list[Candidate[P]]:
    """The request's model (its errors are the request's), then its fallbacks (`chain`), each
    routed for this endpoint."""
    first = route(services, caller, slug, endpoint)
    routes = chain(caller, first, fallbacks, lambda other: route(services, caller, other, endpoint))
    return [candidate_of(services, routed) for routed in routes]


def chain(
    caller: Caller,
    first: Routed[P],
    fallbacks: Sequence[str],
    resolve: Callable[[str], Routed[P]],
) -> list[Routed[P]]:
    """`first`, then the fallbacks the request named in `models`, then its catalog entry's:
    each once, and only those `resolve` routes (a model the workspace may not use, or that
    cannot serve the request, raises and is skipped) on the same bill as `first` (your own
    upstream key, or the gateway's)."""
    chosen = [first]
    seen = {first.model.slug}
    for other in [*fallbacks, *first.model.fallbacks]:
        if other in seen:
            continue
        seen.add(other)
        try:
            routed = resolve(other)
        except GatewayError as refused:
            log.debug("fallback %s skipped for %s: %s", other, caller.request_id, refused.message)
            continue
        if routed.own_key == first.own_key:
            chosen.append(routed)
    return chosen


async def admit(
    services: Services,
    caller: Caller,
    endpoint: str,
    first: Routed[Any] | Candidate[Any],
    claim: Claim,
) -> Ticket:
    """Admit what the request can cost (429) on the model that serves it first; on the user's
    own upstream key (BYOK) it draws on no limit."""
    where = Route(endpoint, first.model.slug, first.model.provider)
    return await services.meter.admit(caller, where, claim, byok=first.own_key)


def own_upstream_only(services: Services, routed: Routed[P], ticket: Ticket) -> Failover[P]:
    """Retries and the circuit breaker on the model's own upstream, and no fallback: another
    model's embeddings or images are not what was asked for (two models' vectors do not even
    compare)."""
    return Failover([candidate_of(services, routed)], services.breakers, ticket)


def candidate_of(services: Services, routed: Routed[P]) -> Candidate[P]:
    """The breaker is that of the key the routed provider calls with."""
    policy = services.registry.policy(routed.model.provider)
    return candidate(routed.model, routed.provider, routed.own_key, policy)


def provider_named(services: Services, name: str) -> VideoProvider | None:
    """The gateway's own video provider named `name` (never a user's key: the video worker
    polls with it later)."""
    if name not in services.registry.configured:
        return None
    return services.registry.serving(name, VIDEOS)
