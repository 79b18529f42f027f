"""The model catalog: which models a workspace sees and may call."""

from __future__ import annotations

import pytest

from domain.catalog import ALL_PLANS, Catalog, ModelEntry, entry_from_config
from domain.errors import ModelNotFound, ModelNotSupported, NotFound, PermissionDenied


def model(slug: str, provider: str, plans=(ALL_PLANS,), capabilities=("chat",)) -> ModelEntry:
    return ModelEntry(
        slug=slug,
        provider=provider,
        upstream_id=slug.split("/", 1)[1],
        created=1_700_000_000,
        owned_by=provider,
        plans=frozenset(plans),
        capabilities=frozenset(capabilities),
    )


ECHO = model("writingmate/echo", "writingmate")
GPT = model("openai/gpt-5", "openai", plans=("pro", "team"))
MINI = model("openai/gpt-5-mini", "openai", plans=("free", "pro", "team"))
LLAMA = model("ollama/llama3", "ollama")
CATALOG = Catalog.of([ECHO, GPT, MINI, LLAMA])


def slugs(entries) -> list[str]:
    return [e.slug for e in entries]


@pytest.mark.parametrize(
    ("plan", "configured", "expected"),
    [
        pytest.param(
            "free",
            ["writingmate", "openai"],
            ["writingmate/echo", "openai/gpt-5-mini"],
            id="free plan sees only models listing it or all plans",
        ),
        pytest.param(
            "pro",
            ["writingmate", "openai"],
            ["writingmate/echo", "openai/gpt-5", "openai/gpt-5-mini"],
            id="pro plan sees its models",
        ),
        pytest.param(
            "pro",
            ["writingmate"],
            ["writingmate/echo"],
            id="unconfigured providers hide their models",
        ),
        pytest.param("free", [], [], id="nothing configured, nothing visible"),
        pytest.param(
            "unknown-plan",
            ["writingmate", "openai", "ollama"],
            ["writingmate/echo", "ollama/llama3"],
            id="star means every plan",
        ),
        pytest.param(
            "team",
            iter(["openai", "ollama"]),
            ["openai/gpt-5", "openai/gpt-5-mini", "ollama/llama3"],
            id="configured may be any iterable",
        ),
    ],
)
def test_visible_filters_by_plan_and_configured_providers(plan, configured, expected):
    assert slugs(CATALOG.visible(plan, configured)) == expected


def test_allowed_on_star_means_every_plan():
    assert ECHO.allowed_on("free") and ECHO.allowed_on("anything")
    assert GPT.allowed_on("pro") and not GPT.allowed_on("free")


def assert_model_not_found(error: ModelNotFound, slug: str) -> None:
    assert isinstance(error, NotFound)
    assert error.status == 404
    assert error.code == "model_not_found"
    assert error.param == "model"
    assert error.type == "invalid_request_error"
    assert slug in error.message
    assert error.body()["error"] == {
        "message": error.message,
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


@pytest.mark.parametrize(
    ("slug", "configured"),
    [
        pytest.param("openai/gpt-9", ["openai"], id="unknown slug"),
        pytest.param("ollama/llama3", ["openai", "writingmate"], id="provider not configured"),
        pytest.param("gpt-5", ["openai"], id="upstream id is not a slug"),
    ],
)
def test_lookup_of_unknown_or_unconfigured_model_is_404(slug, configured):
    with pytest.raises(ModelNotFound) as raised:
        CATALOG.lookup(slug, configured)
    assert_model_not_found(raised.value, slug)


def test_lookup_finds_a_configured_model_whatever_the_plan():
    assert CATALOG.lookup("openai/gpt-5", ["openai"]) is GPT


def test_route_returns_the_model_the_plan_includes():
    assert CATALOG.route("openai/gpt-5", "pro", ["openai"]) is GPT
    assert CATALOG.route("writingmate/echo", "free", ["writingmate"]) is ECHO


def test_route_to_a_model_outside_the_plan_is_403():
    with pytest.raises(PermissionDenied) as raised:
        CATALOG.route("openai/gpt-5", "free", ["openai"])
    error = raised.value
    assert error.status == 403
    assert error.type == "permission_error"
    assert error.param == "model"
    assert error.code == "model_not_in_plan"
    assert "openai/gpt-5" in error.message


def test_route_to_an_unknown_model_is_404_not_403():
    with pytest.raises(ModelNotFound) as raised:
        CATALOG.route("openai/gpt-9", "free", ["openai"])
    assert_model_not_found(raised.value, "openai/gpt-9")


def test_route_to_a_model_without_the_endpoints_capability_is_404_model_not_supported():
    painter = model("openai/dall-e-3", "openai", capabilities=("images",))
    catalog = Catalog.of([painter])
    assert catalog.route("openai/dall-e-3", "free", ["openai"], "images") is painter
    with pytest.raises(ModelNotSupported) as raised:
        catalog.route("openai/dall-e-3", "free", ["openai"])
    error = raised.value
    assert (error.status, error.code, error.param) == (404, "model_not_supported", "model")
    assert "chat completions" in error.message


def test_a_catalog_row_without_capabilities_is_a_chat_model():
    assert "chat" in entry_from_config({"slug": "x/y", "provider": "x"}).capabilities


def test_visible_model_outside_the_plan_is_404():
    with pytest.raises(ModelNotFound) as raised:
        CATALOG.visible_model("openai/gpt-5", "free", ["openai"])
    assert_model_not_found(raised.value, "openai/gpt-5")


def test_visible_model_unconfigured_is_404():
    with pytest.raises(ModelNotFound):
        CATALOG.visible_model("openai/gpt-5", "pro", ["writingmate"])


def test_visible_model_in_the_plan_is_returned():
    assert CATALOG.visible_model("openai/gpt-5-mini", "free", ["openai"]) is MINI


def test_entry_from_config_defaults():
    entry = entry_from_config({"slug": "openai/gpt-5", "provider": "openai"})
    assert entry == ModelEntry(
        slug="openai/gpt-5",
        provider="openai",
        upstream_id="gpt-5",
        created=0,
        owned_by="openai",
        capabilities=frozenset({"chat"}),
        plans=frozenset({ALL_PLANS}),
        context_length=None,
    )
    assert entry.allowed_on("free")


def test_entry_from_config_keeps_slashes_after_the_provider_in_upstream_id():
    entry = entry_from_config({"slug": "vllm/meta-llama/Llama-3-8B", "provider": "vllm"})
    assert entry.upstream_id == "meta-llama/Llama-3-8B"
    assert entry.owned_by == "vllm"


def test_entry_from_config_reads_every_field():
    entry = entry_from_config(
        {
            "slug": "openai/gpt-5",
            "provider": "openai-eu",
            "upstream_id": "gpt-5-2025-08-07",
            "created": "1754524800",
            "owned_by": "system",
            "capabilities": ["chat", "tools"],
            "plans": ["pro", 7],
            "context_length": 400_000,
        }
    )
    assert entry.provider == "openai-eu"
    assert entry.upstream_id == "gpt-5-2025-08-07"
    assert entry.created == 1_754_524_800
    assert entry.owned_by == "system"
    assert entry.capabilities == frozenset({"chat", "tools"})
    assert entry.plans == frozenset({"pro", "7"})
    assert entry.context_length == 400_000


def test_as_openai_is_the_openai_model_object():
    entry = entry_from_config(
        {"slug": "openai/gpt-5", "provider": "openai", "created": 1754524800, "plans": ["pro"]}
    )
    assert entry.as_openai() == {
        "id": "openai/gpt-5",
        "object": "model",
        "created": 1754524800,
        "owned_by": "openai",
    }


def test_as_openai_adds_context_length_and_prices_when_known_as_openrouter_does():
    entry = entry_from_config(
        {
            "slug": "deepseek/deepseek-chat",
            "provider": "openrouter",
            "created": 1,
            "context_length": 1000,
            "pricing": {"prompt": "0.000001", "completion": "0.000002"},
        }
    )
    assert entry.as_openai() == {
        "id": "deepseek/deepseek-chat",
        "object": "model",
        "created": 1,
        "owned_by": "deepseek",
        "context_length": 1000,
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
    }
