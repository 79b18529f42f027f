"""What a 404 for a model tells the caller: the variable that enables its provider, or the
slugs meant by a name without its provider, limited to what the caller's plan may use."""

from __future__ import annotations

import pytest

from domain.catalog import ALL_PLANS, Catalog, ModelEntry
from domain.errors import ModelNotFound

SETUP = {"anthropic": ("WMGW_ANTHROPIC_API_KEY",), "ollama": ("WMGW_OLLAMA_BASE_URL",)}


def model(slug: str, provider: str, upstream_id: str | None = None, plans=(ALL_PLANS,)):
    return ModelEntry(
        slug=slug,
        provider=provider,
        upstream_id=upstream_id or slug.split("/", 1)[1],
        created=0,
        owned_by=provider,
        capabilities=frozenset({"chat"}),
        plans=frozenset(plans),
    )


CATALOG = Catalog.of(
    [
        model("openai/gpt-4o-mini", "openai"),
        model("openai/gpt-5", "openai", plans=("pro",)),
        model("openrouter-vendor/gpt-4o-mini", "openrouter"),
        model("anthropic/claude-sonnet-4.5", "anthropic", "claude-sonnet-4-5"),
        model("vllm/Qwen/Qwen2.5-7B-Instruct", "vllm"),
    ]
).with_setup(SETUP)
CONFIGURED = frozenset({"openai", "openrouter", "vllm"})


def message(slug: str, plan: str | None = "free") -> str:
    with pytest.raises(ModelNotFound) as raised:
        CATALOG.lookup(slug, CONFIGURED, plan)
    assert (raised.value.status, raised.value.code) == (404, "model_not_found")
    return raised.value.message


def test_a_known_model_of_an_unconfigured_provider_names_the_variable_to_set():
    assert message("anthropic/claude-sonnet-4.5") == (
        "The model `anthropic/claude-sonnet-4.5` is served by the provider `anthropic`, which "
        "is not configured on this gateway: set WMGW_ANTHROPIC_API_KEY."
    )


def test_an_unknown_model_under_an_unconfigured_providers_prefix_names_it_too():
    assert message("ollama/llama3.2") == (
        "The model `ollama/llama3.2` would be served by the provider `ollama`, which is not "
        "configured on this gateway: set WMGW_OLLAMA_BASE_URL."
    )


def test_a_name_without_its_provider_suggests_every_matching_slug():
    assert message("gpt-4o-mini") == (
        "The model `gpt-4o-mini` does not exist: models are named `provider/model`. "
        "Did you mean one of `openai/gpt-4o-mini`, `openrouter-vendor/gpt-4o-mini`?"
    )


def test_a_local_servers_own_id_and_a_wrong_case_find_the_slug():
    assert message("Qwen/Qwen2.5-7B-Instruct").endswith(
        "Did you mean `vllm/Qwen/Qwen2.5-7B-Instruct`?"
    )
    assert message("OpenAI/GPT-4o-mini") == (
        "The model `OpenAI/GPT-4o-mini` does not exist. Did you mean `openai/gpt-4o-mini`?"
    )


def test_suggestions_are_only_models_the_plan_may_use():
    assert "does not exist or you do not have access" in message("gpt-5", plan="free")
    assert message("gpt-5", plan="pro").endswith("Did you mean `openai/gpt-5`?")


def test_a_name_only_an_unconfigured_provider_serves_names_its_variable():
    assert message("claude-sonnet-4-5") == (
        "The model `claude-sonnet-4-5` does not exist: models are named `provider/model`. "
        "`anthropic/claude-sonnet-4.5` is served by the provider `anthropic`, which is not "
        "configured on this gateway: set WMGW_ANTHROPIC_API_KEY."
    )


def test_an_unknown_model_of_a_configured_provider_says_only_that():
    assert message("openai/gpt-9") == (
        "The model `openai/gpt-9` does not exist or you do not have access to it."
    )


def test_a_model_outside_the_plan_is_not_revealed_by_get_models():
    with pytest.raises(ModelNotFound) as raised:
        CATALOG.visible_model("openai/gpt-5", "free", CONFIGURED)
    assert raised.value.message == (
        "The model `openai/gpt-5` does not exist or you do not have access to it."
    )


def test_the_setup_survives_a_merge_of_synced_models():
    merged = CATALOG.with_synced([model("vllm/new", "vllm")], CONFIGURED)
    assert merged.setup == SETUP
