"""`wmgw models ...`: model lists synced from upstreams into the catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx

from cli.common import CliError, Run, database_command
from gateway.catalog_file import load_catalog
from gateway.settings import Settings
from providers import rows
from providers.openai_compatible.openrouter_models import catalog_rows
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


@click.group("models")
def models() -> None:
    """Model lists synced from upstreams into the catalog."""


@models.command("sync-openrouter")
@click.option(
    "--provider",
    default="openrouter",
    show_default=True,
    help="The catalog's provider row to sync (its base URL and key).",
)
@click.option(
    "--file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the list from a saved /models response instead of the API.",
)
@database_command
async def models_sync_openrouter(run: Run, provider: str, file: str | None) -> None:
    """Store OpenRouter's model list as catalog models (for an installation that cannot reach
    OpenRouter: the gateway syncs it by itself otherwise); running gateways list them within
    about a minute."""
    row = provider_row(run.settings, provider)
    payload = _openrouter_list(run.settings, provider, file)
    synced = catalog_rows(payload, provider, row.get("plans") or ["*"])
    count = await synced_models.replace(run.conn, provider, synced)
    text = (
        f"{count} models synced from {provider}; running gateways list them within about a minute"
    )
    run.show({"provider": provider, "models": count}, text)
