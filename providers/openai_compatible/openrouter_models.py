"""OpenRouter's model list (`GET /api/v1/models`) as catalog rows.

Pure: a parsed `{"data": [Model...]}` in, rows for `domain.catalog.entry_from_config` out.
Chat-capable models only (text output); image- and audio-only generators are not chat models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PARAMETER_CAPABILITIES = {
    "tools": "tools",
    "response_format": "json_schema",
    "structured_outputs": "json_schema",
    "reasoning": "reasoning",
    "reasoning_effort": "reasoning",
}


def _capabilities(model: Mapping[str, Any]) -> list[str]:
    found = {"chat", "streaming"}
    for parameter in model.get("supported_parameters") or []:
        if parameter in PARAMETER_CAPABILITIES:
            found.add(PARAMETER_CAPABILITIES[parameter])
    if "image" in ((model.get("architecture") or {}).get("input_modalities") or []):
        found.add("vision")
    if "image" in ((model.get("architecture") or {}).get("output_modalities") or []):
        found.add("images")  # served by POST /images/generations (chat with `modalities`)
    return sorted(found)


def _chat_model(model: Mapping[str, Any]) -> bool:
    outputs = (model.get("architecture") or {}).get("output_modalities") or ["text"]
    return "text" in outputs and isinstance(model.get("id"), str)


def catalog_rows(
    payload: Mapping[str, Any], provider: str, plans: Sequence[str]
) -> list[dict[str, Any]]:
    rows = []
    for model in payload.get("data") or []:
        if not _chat_model(model):
            continue
        pricing = model.get("pricing") or {}
        rows.append(
            {
                "slug": model["id"],
                "provider": provider,
                "upstream_id": model["id"],
                "created": int(model.get("created") or 0),
                "owned_by": model["id"].split("/", 1)[0],
                "capabilities": _capabilities(model),
                "plans": list(plans),
                "context_length": model.get("context_length"),
                "max_output_tokens": (model.get("top_provider") or {}).get("max_completion_tokens"),
                "pricing": {k: str(pricing[k]) for k in ("prompt", "completion") if k in pricing},
            }
        )
    return rows
