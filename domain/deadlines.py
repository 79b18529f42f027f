"""How long the gateway waits on an upstream, per provider: the catalog row's `deadlines`, then
environment overrides, for all providers (`WMGW_FIRST_TOKEN_SECONDS`) or one
(`WMGW_ANTHROPIC_FIRST_TOKEN_SECONDS`).

    connect       to open the connection (TCP and TLS)
    first_token   a stream's first output (text, reasoning or a tool call): a slower one falls
                  back before anything reached the client
    stall         a silence between two parts of a stream once it has started
    answer        a non-streamed answer, which arrives whole: there is no first token to wait for
    total         the whole request, retries and fallbacks included
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

FIELDS = ("connect", "first_token", "stall", "answer", "total")


@dataclass(frozen=True, slots=True)
class Deadlines:
    connect: float = 10.0
    first_token: float = 120.0
    stall: float = 120.0
    answer: float = 600.0
    total: float = 1800.0

    def __post_init__(self) -> None:
        for item in fields(self):
            if not getattr(self, item.name) > 0:
                raise ValueError(f"deadline `{item.name}` must be a positive number of seconds")


def deadlines_for(row: Mapping[str, Any], env: Mapping[str, str]) -> Deadlines:
    """A provider's deadlines: defaults, its row's `deadlines`, then the environment."""
    chosen: dict[str, float] = {}
    configured = row.get("deadlines") or {}
    unknown = set(configured) - set(FIELDS)
    if unknown:
        raise ValueError(f"provider {row.get('name')}: unknown deadlines {sorted(unknown)}")
    prefix = f"WMGW_{str(row.get('name', '')).upper()}_"
    for name in FIELDS:
        for value in (
            configured.get(name),
            env.get(f"WMGW_{name.upper()}_SECONDS"),
            env.get(f"{prefix}{name.upper()}_SECONDS"),
        ):
            if value is not None and value != "":
                chosen[name] = _seconds(name, value)
    return replace(Deadlines(), **chosen)


def _seconds(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"deadline `{name}`: {value!r} is not a number of seconds") from None
