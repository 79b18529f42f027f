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
    return not missing_settings(row, env)


def missing_settings(row: Row, env: Mapping[str, str]) -> tuple[str, ...]:
    """The environment variables to set before the provider can be used: its key (unless the
    row says `api_key_optional`, as a local server started without one) and its base URL
    (when the row has none of its own)."""
    missing = []
    if row.get("api_key_env") and not row.get("api_key_optional") and not api_key(row, env):
        missing.append(str(row["api_key_env"]))
    if row["kind"] != "echo" and base_url(row, env) is None:
        missing.append(str(row.get("base_url_env") or f"the base_url of {row['name']}"))
    return tuple(missing)
