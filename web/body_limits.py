"""Each operation's request body limit, from the spec: an operation's `x-max-body-bytes`, read
once when the app is built. Operations without one take `WMGW_MAX_BODY_BYTES`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

EXTENSION = "x-max-body-bytes"
METHODS = ("get", "put", "post", "delete", "patch")

# (HTTP method, path as requested) -> the most bytes its body may have
Limits = dict[tuple[str, str], int]


def from_spec(spec: Mapping[str, Any]) -> Limits:
    """Every operation's own limit, by method and full path (the server's base path first).
    The paths with a body have no path parameters, so no template matching is needed."""
    base = str(((spec.get("servers") or [{}])[0]).get("url", "")).rstrip("/")
    limits: Limits = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in METHODS:
            limit = (item.get(method) or {}).get(EXTENSION)
            if isinstance(limit, int):
                limits[(method.upper(), f"{base}{path}")] = limit
    return limits


def from_file(path: Path) -> Limits:
    return from_spec(yaml.safe_load(path.read_text()) or {})
