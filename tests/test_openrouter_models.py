"""OpenRouter's model list (the checked-in sample of /api/v1/models) as catalog rows."""

from __future__ import annotations

import json
from pathlib import Path

from domain.catalog import Catalog, entry_from_config
from providers.openai_compatible.openrouter_models import catalog_rows

SAMPLE = json.loads((Path(__file__).parent / "fixtures" / "openrouter-models.json").read_text())


def rows_by_slug() -> dict[str, dict]:
    return {row["slug"]: row for row in catalog_rows(SAMPLE, "openrouter", ["*"])}


def test_chat_models_become_rows_with_context_length_and_prices() -> None:
    row = rows_by_slug()["anthropic/claude-sonnet-4.5"]
    assert row["provider"] == "openrouter" and row["upstream_id"] == "anthropic/claude-sonnet-4.5"
    assert row["context_length"] == 1_000_000
    assert row["pricing"] == {"prompt": "0.000003", "completion": "0.000015"}
    assert {"tools", "json_schema", "reasoning", "vision"} <= set(row["capabilities"])
    assert row["owned_by"] == "anthropic"


def test_every_text_model_of_the_sample_is_kept_and_image_only_ones_are_not() -> None:
    text_models = [m for m in SAMPLE["data"] if "text" in m["architecture"]["output_modalities"]]
    assert len(rows_by_slug()) == len(text_models)
    assert "openrouter/auto" in rows_by_slug()


def test_free_variants_keep_their_suffix_as_the_slug() -> None:
    assert any(slug.endswith(":free") for slug in rows_by_slug())


def test_hand_configured_models_keep_their_route_while_their_provider_is_configured() -> None:
    native = entry_from_config(
        {
            "slug": "anthropic/claude-sonnet-4.5",
            "provider": "anthropic",
            "upstream_id": "claude-sonnet-4-5",
        }
    )
    synced = [entry_from_config(row) for row in rows_by_slug().values()]
    with_anthropic = Catalog.of([native]).with_synced(synced, {"anthropic", "openrouter"})
    assert with_anthropic.models["anthropic/claude-sonnet-4.5"].provider == "anthropic"
    without = Catalog.of([native]).with_synced(synced, {"openrouter"})
    assert without.models["anthropic/claude-sonnet-4.5"].provider == "openrouter"
