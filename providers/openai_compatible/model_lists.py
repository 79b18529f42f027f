"""An OpenAI-compatible upstream's own model list (`GET /models`), fetched, and read as catalog
rows for the models a local server (Ollama, vLLM, llama.cpp) serves.

Such a list says only what each model is called: not whether it chats or embeds. A discovered
model is therefore offered on every endpoint an OpenAI-compatible server has (chat, legacy
completions, embeddings), and the server itself refuses what its model cannot do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import UpstreamError
from providers.http import upstream
from providers.http.client import HttpClient, HttpError

DISCOVERED_CAPABILITIES = ("chat", "streaming", "tools", "json_schema", "completions", "embeddings")


async def fetch(client: HttpClient, base_url: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The upstream's `{"data": [...]}`; GatewayErrors (without credentials) when it fails."""
    try:
        response = await client.get(f"{base_url}/models", headers=headers)
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code, response.headers, response.content, sent=headers
        )
    try:
        payload = response.json()
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed model list.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise UpstreamError("The upstream provider sent a malformed model list.")
    return payload


def discovered_rows(
    payload: Mapping[str, Any], provider: str, plans: Sequence[str]
) -> list[dict[str, Any]]:
    """Catalog rows `provider/<id>` for each model listed, with what the list tells: vLLM's
    `max_model_len` bounds both the context and an answer's length."""
    rows = []
    for model in payload.get("data") or []:
        if not isinstance(model, dict) or not isinstance(model.get("id"), str) or not model["id"]:
            continue
        row: dict[str, Any] = {
            "slug": f"{provider}/{model['id']}",
            "provider": provider,
            "upstream_id": model["id"],
            "created": _integer(model.get("created")) or 0,
            "owned_by": str(model.get("owned_by") or provider),
            "capabilities": list(DISCOVERED_CAPABILITIES),
            "plans": list(plans),
        }
        context = _integer(model.get("max_model_len"))
        if context:
            row["context_length"] = row["max_output_tokens"] = context
        rows.append(row)
    return rows


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
