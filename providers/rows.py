"""Reading a provider row of catalog.yaml against the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = Mapping[str, Any]


def base_url(row: Row, env: Mapping[str, str]) -> str | None:
    """`base_url_env`'s value when set (regional endpoints, test doubles), else `base_url`."""
    override = env.get(row.get("base_url_env") or "")
    url = override or row.get("base_url")
    return str(url).rstrip("/") if url else None


def api_key(row: Row, env: Mapping[str, str]) -> str | None:
    return env.get(row.get("api_key_env") or "") or None


def is_configured(row: Row, env: Mapping[str, str]) -> bool:
    """A provider is usable when it has its key (if it needs one) and a base URL (if remote)."""
    if row.get("api_key_env") and not api_key(row, env):
        return False
    return row["kind"] == "echo" or base_url(row, env) is not None
