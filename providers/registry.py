"""Providers by name, built from the catalog's provider rows by their kind (providers/kinds.py):
each as a typed handle per endpoint, so a lookup for an endpoint returns that endpoint's
protocol, or None where the provider's wire format has no such endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from domain.deadlines import Deadlines
from domain.upstream_policy import UpstreamPolicy, policy_of
from providers.base import ModelLister
from providers.http.client import HttpClient, Timeouts
from providers.kinds import KINDS
from providers.rows import Row, is_configured
from providers.served import Endpoint, Served

P = TypeVar("P")


class KindMismatch(RuntimeError):
    """A kind's `serve` handed out other endpoints than its capabilities declare: a bug in
    providers/kinds.py, found when the app starts rather than by a request."""


@dataclass(frozen=True)
class Registry:
    served: Mapping[str, Served] = field(default_factory=dict)
    policies: Mapping[str, UpstreamPolicy] = field(default_factory=dict)

    @property
    def configured(self) -> frozenset[str]:
        return frozenset(self.served)

    def policy(self, name: str) -> UpstreamPolicy:
        """The provider's deadlines, retries and circuit breaker settings."""
        return self.policies.get(name) or UpstreamPolicy()

    def serving(self, name: str, endpoint: Endpoint[P]) -> P | None:
        """The configured provider `name` on `endpoint`, or None when it serves no such
        endpoint (or is not configured)."""
        served = self.served.get(name)
        return None if served is None else endpoint.pick(served)

    def with_user_key(self, name: str, api_key: str | None, endpoint: Endpoint[P]) -> P | None:
        """The provider calling out with a user's own key on `endpoint`, where its row allows
        it (`byok: true`)."""
        served = self.served.get(name)
        if api_key is None or served is None or served.with_user_key is None:
            return None
        return endpoint.pick(served.with_user_key(api_key))

    def lister(self, name: str) -> ModelLister | None:
        """The provider's own model list (`GET /models`), where its kind has one."""
        served = self.served.get(name)
        return None if served is None else served.models


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


def serve_row(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    """A row built by its kind, checked against what the kind declares."""
    kind = KINDS[row["kind"]]
    served = kind.serve(row, env, client)
    declared = kind.capabilities
    expected = declared.row_endpoints(row)
    listing = served.models is not None
    keyed = served.with_user_key is not None
    if (
        served.endpoints() != expected
        or listing != declared.model_lists
        or keyed != (declared.user_keys and bool(row.get("byok")))
    ):
        raise KindMismatch(
            f"kind {row['kind']} declares {sorted(expected)} (lists models: "
            f"{declared.model_lists}, user keys: {declared.user_keys}) but serves "
            f"{sorted(served.endpoints())} (lists models: {listing}, user keys: {keyed})"
        )
    return served


def build_registry(rows: Sequence[Row], env: Mapping[str, str], client: HttpClient) -> Registry:
    ready = [row for row in rows if is_configured(row, env)]
    policies = {row["name"]: policy_of(row, env) for row in ready}
    return Registry(
        {
            row["name"]: serve_row(
                row, env, client.with_timeouts(http_timeouts(policies[row["name"]].deadlines))
            )
            for row in ready
        },
        policies=policies,
    )
