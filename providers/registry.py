"""Providers by name, built from the catalog's provider rows. A new OpenAI-compatible upstream
is a new row; a new wire format is a new entry in KINDS."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from providers.base import ChatProvider
from providers.echo import Echo
from providers.openai_compatible import OpenAICompatible

Row = Mapping[str, Any]


def _base_url(row: Row, env: Mapping[str, str]) -> str | None:
    override = env.get(row.get("base_url_env") or "")
    url = override or row.get("base_url")
    return str(url).rstrip("/") if url else None


def is_configured(row: Row, env: Mapping[str, str]) -> bool:
    """A provider is usable when it has its key (if it needs one) and a base URL (if remote)."""
    if row.get("api_key_env") and not env.get(row["api_key_env"]):
        return False
    return row["kind"] == "echo" or _base_url(row, env) is not None


def _openai_compatible(row: Row, env: Mapping[str, str], client: httpx.AsyncClient) -> ChatProvider:
    return OpenAICompatible(
        name=row["name"],
        base_url=_base_url(row, env) or "",
        api_key=env.get(row.get("api_key_env") or ""),
        client=client,
        extra_headers=dict(row.get("headers") or {}),
    )


def _echo(row: Row, env: Mapping[str, str], client: httpx.AsyncClient) -> ChatProvider:
    return Echo(name=row["name"])


KINDS: dict[str, Callable[[Row, Mapping[str, str], httpx.AsyncClient], ChatProvider]] = {
    "openai_compatible": _openai_compatible,
    "echo": _echo,
}


@dataclass(frozen=True)
class Registry:
    providers: Mapping[str, ChatProvider] = field(default_factory=dict)

    @property
    def configured(self) -> frozenset[str]:
        return frozenset(self.providers)

    def get(self, name: str) -> ChatProvider:
        return self.providers[name]


def build_registry(
    rows: Sequence[Row], env: Mapping[str, str], client: httpx.AsyncClient
) -> Registry:
    return Registry(
        {
            row["name"]: KINDS[row["kind"]](row, env, client)
            for row in rows
            if is_configured(row, env)
        }
    )
