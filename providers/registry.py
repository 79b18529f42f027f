"""Providers by name, built from the catalog's provider rows. A new OpenAI-compatible upstream
is a new row; a new wire format is a new entry in KINDS: the `build(row, env, client)` function
of its module, imported only when a row of that kind is configured."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

from domain.deadlines import Deadlines
from domain.upstream_policy import UpstreamPolicy, policy_of
from providers.base import ChatProvider
from providers.http_client import HttpClient, Timeouts
from providers.rows import Row, is_configured

P = TypeVar("P")
Build = Callable[[Row, Mapping[str, str], HttpClient], ChatProvider]

KINDS: dict[str, str] = {
    "echo": "providers.echo",
    "openai_compatible": "providers.openai_compatible",
    "anthropic": "providers.anthropic",
    "gemini": "providers.gemini",
    "replicate": "providers.replicate",
}


def builder(kind: str) -> Build:
    build: Build = importlib.import_module(KINDS[kind]).build
    return build


class KeyedProvider(ChatProvider, Protocol):
    def with_api_key(self, api_key: str) -> ChatProvider: ...


@dataclass(frozen=True)
class Registry:
    providers: Mapping[str, ChatProvider] = field(default_factory=dict)
    byok: frozenset[str] = frozenset()  # providers whose rows say `byok: true`
    policies: Mapping[str, UpstreamPolicy] = field(default_factory=dict)
    # Whether a provider class serves a protocol: see `serving`.
    _serves: dict[tuple[type, type], bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def configured(self) -> frozenset[str]:
        return frozenset(self.providers)

    def get(self, name: str) -> ChatProvider:
        return self.providers[name]

    def policy(self, name: str) -> UpstreamPolicy:
        """The provider's deadlines, retries and circuit breaker settings."""
        return self.policies.get(name) or UpstreamPolicy()

    def serving(self, name: str, kind: type[P]) -> P | None:
        """The provider as a `kind` (a runtime-checkable protocol of providers.base, such as
        ImageProvider), or None when its wire format has no such endpoint."""
        provider = self.providers[name]
        # isinstance against a runtime-checkable protocol walks its members (about 30 µs);
        # a provider's class never changes, so the answer is kept per class.
        key = (type(provider), kind)
        serves = self._serves.get(key)
        if serves is None:
            serves = self._serves[key] = isinstance(provider, kind)
        return cast(P, provider) if serves else None

    def with_user_key(self, name: str, api_key: str | None) -> ChatProvider | None:
        """The provider calling out with a user's own key, where the provider allows it."""
        if api_key is None or name not in self.byok:
            return None
        provider = self.providers[name]
        return cast(KeyedProvider, provider).with_api_key(api_key)


def http_timeouts(deadlines: Deadlines) -> Timeouts:
    """The deadlines the HTTP client enforces itself: a stream's silences (`stall`, which also
    bounds the wait for its response headers), a whole answer's wait, the connection and the
    call. The first token is watched by the gateway, which knows what output is."""
    return Timeouts(
        connect=deadlines.connect,
        read=deadlines.stall,
        total=deadlines.total,
        answer=deadlines.answer,
    )


def build_registry(rows: Sequence[Row], env: Mapping[str, str], client: HttpClient) -> Registry:
    ready = [row for row in rows if is_configured(row, env)]
    policies = {row["name"]: policy_of(row, env) for row in ready}
    return Registry(
        {
            row["name"]: builder(row["kind"])(
                row, env, client.with_timeouts(http_timeouts(policies[row["name"]].deadlines))
            )
            for row in ready
        },
        byok=frozenset(row["name"] for row in ready if row.get("byok")),
        policies=policies,
    )
