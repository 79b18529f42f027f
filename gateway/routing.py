"""Which model and provider serve a request: the catalog decides the model (404 unknown or
not serving the endpoint, 403 outside the plan), the registry the provider, and the user's own
upstream key (BYOK) replaces the gateway's where the provider allows it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.catalog import ENDPOINT_NAMES, ModelEntry
from domain.errors import GatewayError, ModelNotSupported
from gateway.attempts import Candidate, candidate
from gateway.auth import Caller
from gateway.services import Services

log = logging.getLogger("wmgw.routing")

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Routed(Generic[P]):
    model: ModelEntry
    provider: P
    own_key: bool  # the request goes out with the user's own key: it draws on no limit


def route(
    services: Services, caller: Caller, slug: str, capability: str, kind: type[P]
) -> Routed[P]:
    """The model `slug` for an endpoint needing `capability`, and its provider as a `kind`."""
    model = services.catalog.route(slug, caller.plan, services.registry.configured, capability)
    provider = services.registry.serving(model.provider, kind)
    if provider is None:
        raise ModelNotSupported(slug, ENDPOINT_NAMES.get(capability, capability))
    own = services.registry.with_user_key(model.provider, caller.own_key(model.provider))
    if own is not None and isinstance(own, kind):
        return Routed(model, own, own_key=True)
    return Routed(model, provider, own_key=False)


def candidates(
    services: Services,
    caller: Caller,
    slug: str,
    fallbacks: Sequence[str],
    capability: str,
    kind: type[P],
) -> list[Candidate[P]]:
    """The request's model (its errors are the request's), then the fallbacks it named in
    `models`, then its catalog entry's: each once, and only those the workspace may use for
    this endpoint on the same bill (your own upstream key, or the gateway's)."""
    first = route(services, caller, slug, capability, kind)
    chosen = [_candidate(services, first)]
    seen = {first.model.slug}
    for other in [*fallbacks, *first.model.fallbacks]:
        if other in seen:
            continue
        seen.add(other)
        try:
            routed = route(services, caller, other, capability, kind)
        except GatewayError as refused:
            log.debug("fallback %s skipped for %s: %s", other, caller.request_id, refused.message)
            continue
        if routed.own_key == first.own_key:
            chosen.append(_candidate(services, routed))
    return chosen


def _candidate(services: Services, routed: Routed[P]) -> Candidate[P]:
    policy = services.registry.policy(routed.model.provider)
    return candidate(routed.model, routed.provider, routed.own_key, policy)
