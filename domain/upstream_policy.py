"""How the gateway treats one provider's upstream: its deadlines, its retries and its circuit
breaker, from the provider's catalog row and then the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from domain.breaker import BreakerSettings, settings_for
from domain.deadlines import Deadlines, deadlines_for
from domain.retries import RetryPolicy, policy_for

ENV_RETRIES = {
    "WMGW_RETRIES": ("retries", int),
    "WMGW_RETRY_BASE_SECONDS": ("base", float),
    "WMGW_RETRY_LONGEST_WAIT_SECONDS": ("longest_wait", float),
}
ENV_BREAKER = {
    "WMGW_BREAKER_FAILURES": ("failures", int),
    "WMGW_BREAKER_COOL_DOWN_SECONDS": ("cool_down", float),
    "WMGW_BREAKER_PROBE_SECONDS": ("probe", float),
}


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    deadlines: Deadlines = field(default_factory=Deadlines)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)


def policy_of(row: Mapping[str, Any], env: Mapping[str, str]) -> UpstreamPolicy:
    return UpstreamPolicy(
        deadlines=deadlines_for(row, env),
        retries=_overridden(policy_for(row), ENV_RETRIES, env),
        breaker=_overridden(settings_for(row), ENV_BREAKER, env),
    )


def _overridden(value: Any, names: Mapping[str, tuple[str, type]], env: Mapping[str, str]) -> Any:
    changes = {}
    for variable, (name, kind) in names.items():
        if env.get(variable):
            try:
                changes[name] = kind(env[variable])
            except ValueError:
                raise ValueError(f"{variable}: {env[variable]!r} is not a number") from None
    return replace(value, **changes)
