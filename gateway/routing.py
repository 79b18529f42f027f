"""Which model and provider serve a request: the catalog decides the model (404 unknown or
not serving the endpoint, 403 outside the plan), the registry the provider, and the user's own
upstream key (BYOK) replaces the gateway's where the provider allows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.catalog import ENDPOINT_NAMES, ModelEntry
from domain.errors import ModelNotSupported
from gateway.auth import Caller
from gateway.services import Services

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
