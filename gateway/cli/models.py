"""`wmgw models ...`: model lists synced from upstreams into the catalog."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.catalog_file import load_catalog
from gateway.cli.common import CliError, Subparsers, group
from gateway.settings import Settings
from providers import rows
from providers.openrouter_models import catalog_rows
from storage import synced_models


def _openrouter_list(settings: Settings, provider: str, file: str | None) -> dict[str, Any]:
    """OpenRouter's model list, from its API (the provider row's base URL) or a saved file."""
    if file:
        return dict(json.loads(Path(file).read_text()))
    row = provider_row(settings, provider)
    url = rows.base_url(row, settings.environ)
    if not url:
        raise CliError(f"provider {provider!r} has no base URL")
    key = rows.api_key(row, settings.environ)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(f"{url}/models", headers=headers, timeout=60)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise CliError(f"could not fetch {url}/models: {type(exc).__name__}") from exc
    return dict(response.json())


def provider_row(settings: Settings, provider: str) -> dict[str, Any]:
    for row in load_catalog(settings.catalog_path).provider_rows:
        if row["name"] == provider:
            return row
    raise CliError(f"no provider {provider!r} in {settings.catalog_path}")


async def models_sync_openrouter(
    conn: AsyncConnection, args: argparse.Namespace, settings: Settings
) -> int:
    row = provider_row(settings, args.provider)
    payload = _openrouter_list(settings, args.provider, args.file)
    models = catalog_rows(payload, args.provider, row.get("plans") or ["*"])
    count = await synced_models.replace(conn, args.provider, models)
    print(
        f"{count} models synced from {args.provider}; "
        "running gateways list them within about a minute"
    )
    return 0


def register(sub: Subparsers) -> None:
    models = group(sub, "models")
    p = models.add_parser("sync-openrouter", help="sync OpenRouter's model list into the catalog")
    p.add_argument("--provider", default="openrouter", help="the provider row to sync")
    p.add_argument("--file", help="read the list from a saved /models response instead")
    p.set_defaults(run=models_sync_openrouter)
