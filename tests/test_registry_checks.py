"""The catalog is checked against what each provider kind can serve when the app starts: a row
or model its kind cannot serve stops the start with a message naming the file, the row and
what is wrong. Models found at run time that do not fit are left out with a warning. The
registry hands out each provider typed per endpoint, only where its kind serves it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.catalog import Catalog, ModelEntry, entry_from_config
from domain.catalog_checks import ModelRules
from domain.errors import CatalogError
from gateway.model_sources import ModelSources
from gateway.settings import REPO_ROOT, DiscoverySettings, Settings
from providers.http.client import HttpClient
from providers.kinds import CAPABILITIES, KINDS
from providers.openai_compatible.client import IMAGE_APIS
from providers.registry import build_registry, serve_row
from providers.served import CHAT, COMPLETIONS, EMBEDDINGS, IMAGES, TRANSCRIPTIONS, VIDEOS
from tests.conftest import SERVER_SECRET
from web.app import create_app

Document = dict[str, Any]


def shipped() -> Document:
    return yaml.safe_load((REPO_ROOT / "catalog.yaml").read_text())


def row(document: Document, name: str) -> Document:
    return next(row for row in document["providers"] if row["name"] == name)


def model(document: Document, slug: str) -> Document:
    return next(model for model in document["models"] if model["slug"] == slug)


def start(tmp_path: Path, document: Document) -> object:
    catalog = tmp_path / "my-catalog.yaml"
    catalog.write_text(yaml.safe_dump(document))
    settings = Settings.from_env(
        {
            "WMGW_DATA_DIR": str(tmp_path / "data"),
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_CATALOG": str(catalog),
        }
    )
    return create_app(settings)


def refusal(tmp_path: Path, document: Document) -> str:
    with pytest.raises(CatalogError) as raised:
        start(tmp_path, document)
    message = str(raised.value)
    assert str(tmp_path / "my-catalog.yaml") in message
    return message


def byok_on_anthropic(d: Document) -> None:
    row(d, "anthropic")["byok"] = True


def chat_model_on_replicate(d: Document) -> None:
    d["models"].append({"slug": "replicate/llama", "provider": "replicate"})


def unknown_kind(d: Document) -> None:
    d["providers"].append({"name": "mistral", "kind": "mistral_native", "base_url": "x"})


def fallback_to_an_unknown_model(d: Document) -> None:
    model(d, "openai/gpt-5")["fallbacks"] = ["anthropic/claude-opus-9"]


def image_model_on_a_row_naming_no_image_api(d: Document) -> None:
    del row(d, "openai")["images"]


def discovery_on_gemini(d: Document) -> None:
    row(d, "google")["discover"] = "openai"


def image_api_the_kind_lacks(d: Document) -> None:
    row(d, "openai")["images"] = "edits"


def misspelt_capability(d: Document) -> None:
    model(d, "openai/text-embedding-3-small")["capabilities"] = ["embedding"]


def model_of_an_unknown_provider(d: Document) -> None:
    d["models"].append({"slug": "mistral/large", "provider": "mistral"})


def model_listed_twice(d: Document) -> None:
    d["models"].append(dict(model(d, "openai/gpt-5")))


def video_model_on_gemini(d: Document) -> None:
    model(d, "google/gemini-2.5-pro")["capabilities"] = ["video"]


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (byok_on_anthropic, "provider `anthropic`: `byok: true`, but kind `anthropic` cannot"),
        (chat_model_on_replicate, "model `replicate/llama`: capability `chat`"),
        (unknown_kind, "provider `mistral`: unknown kind `mistral_native`"),
        (fallback_to_an_unknown_model, "model `openai/gpt-5`: fallback `anthropic/claude-opus-9`"),
        (image_model_on_a_row_naming_no_image_api, "model `openai/dall-e-3`: capability `images`"),
        (discovery_on_gemini, "provider `google`: `discover: openai`, but kind `gemini` cannot"),
        (image_api_the_kind_lacks, "provider `openai`: `images: edits`"),
        (misspelt_capability, "model `openai/text-embedding-3-small`: unknown capabilities"),
        (model_of_an_unknown_provider, "model `mistral/large`: its provider `mistral` is not"),
        (model_listed_twice, "model `openai/gpt-5`: listed 2 times"),
        (video_model_on_gemini, "model `google/gemini-2.5-pro`: capability `video`"),
    ],
)
def test_a_catalog_its_kinds_cannot_serve_stops_the_start_naming_the_row(
    tmp_path: Path, spoil: Callable[[Document], None], says: str
) -> None:
    document = shipped()
    spoil(document)
    assert says in refusal(tmp_path, document)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    document = shipped()
    byok_on_anthropic(document)
    chat_model_on_replicate(document)
    message = refusal(tmp_path, document)
    assert "has 2 problems" in message
    assert "provider `anthropic`" in message and "model `replicate/llama`" in message


def test_a_file_that_is_no_catalog_is_refused_by_name(tmp_path: Path) -> None:
    assert "`models:` must be a list of mappings" in refusal(tmp_path, {"models": "all"})
    document = shipped()
    document["models"].append({"slug": "openai/gpt-6"})
    assert "model `openai/gpt-6`: a model needs a `slug` and a `provider`" in refusal(
        tmp_path, document
    )


def test_the_shipped_catalog_starts(tmp_path: Path) -> None:
    assert callable(start(tmp_path, shipped()))


def test_a_fallback_to_a_local_servers_model_is_accepted_before_it_is_listed(
    tmp_path: Path,
) -> None:
    document = shipped()
    model(document, "openai/gpt-5")["fallbacks"] = ["ollama/qwen3:8b"]
    assert callable(start(tmp_path, document))


# -- the registry -------------------------------------------------------------------------------

ENV = {
    "WMGW_OPENAI_API_KEY": "sk-openai",
    "WMGW_OPENROUTER_API_KEY": "sk-or",
    "WMGW_ANTHROPIC_API_KEY": "sk-ant",
    "WMGW_GEMINI_API_KEY": "gm",
    "WMGW_REPLICATE_API_TOKEN": "r8",
    "WMGW_OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1",
}


@pytest.fixture(scope="module")
def registry() -> Any:
    return build_registry(shipped()["providers"], ENV, HttpClient())


def test_each_provider_is_served_only_on_the_endpoints_its_kind_has(registry: Any) -> None:
    assert registry.serving("replicate", IMAGES).name == "replicate"
    assert registry.serving("replicate", CHAT) is None
    assert registry.serving("anthropic", CHAT).name == "anthropic"
    assert [registry.serving("anthropic", e) for e in (IMAGES, EMBEDDINGS, VIDEOS)] == [None] * 3
    assert registry.serving("google", TRANSCRIPTIONS).name == "google"
    assert registry.serving("google", COMPLETIONS) is None
    assert registry.serving("writingmate", VIDEOS).name == "writingmate"
    # An OpenAI-compatible row serves images only through the API its `images` names.
    assert registry.serving("openai", IMAGES) is not None
    assert registry.serving("ollama", IMAGES) is None
    assert registry.serving("vllm", CHAT) is None  # not configured here


def test_a_users_own_key_is_used_only_where_the_row_allows_it(registry: Any) -> None:
    own = registry.with_user_key("openrouter", "sk-or-own", CHAT)
    assert own.api_key == "sk-or-own"
    assert registry.serving("openrouter", CHAT).api_key == "sk-or"
    assert registry.with_user_key("openai", "sk-own", CHAT) is None  # no `byok: true`
    assert registry.with_user_key("openrouter", None, CHAT) is None


def test_only_kinds_with_their_own_list_can_be_asked_for_it(registry: Any) -> None:
    assert registry.lister("ollama") is not None
    assert registry.lister("google") is None


def row_variants() -> list[dict[str, Any]]:
    """A row of each kind, plain and with each option its kind allows."""
    rows = []
    for kind, capabilities in sorted(KINDS.items()):
        rows.append({"kind": kind})
        rows += [
            {"kind": kind, "images": api} for api in sorted(capabilities.capabilities.image_apis)
        ]
        if capabilities.capabilities.user_keys:
            rows.append({"kind": kind, "byok": True})
    return rows


@pytest.mark.parametrize("variant", row_variants(), ids=str)
def test_every_kind_serves_what_it_declares(variant: dict[str, Any]) -> None:
    row = {"name": "p", "base_url": "http://127.0.0.1:1", **variant}
    served = serve_row(row, {}, HttpClient())  # raises KindMismatch otherwise
    assert served.endpoints() == CAPABILITIES[row["kind"]].row_endpoints(row)
    assert (served.with_user_key is not None) == bool(row.get("byok"))


def test_the_declared_image_apis_are_the_ones_openai_compatible_rows_can_name() -> None:
    assert CAPABILITIES["openai_compatible"].image_apis == frozenset(IMAGE_APIS)


# -- models found at run time ------------------------------------------------------------------


def found(slug: str, provider: str, capabilities: list[str]) -> ModelEntry:
    return entry_from_config({"slug": slug, "provider": provider, "capabilities": capabilities})


def test_a_listed_model_its_provider_cannot_serve_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    document = shipped()
    del row(document, "openrouter")["images"]
    rules = ModelRules.of(document["providers"], CAPABILITIES)
    no_database: Any = None  # the stored lists are not read here
    sources = ModelSources(
        Catalog(), frozenset({"openrouter"}), no_database, {}, DiscoverySettings(), rules
    )
    published: list[Catalog] = []
    sources.publish = published.append
    chat = found("deepseek/deepseek-chat", "openrouter", ["chat", "streaming"])
    painter = found("google/gemini-2.5-flash-image", "openrouter", ["chat", "images"])
    with caplog.at_level(logging.WARNING, logger="wmgw.models"):
        sources.shared.publish([chat, painter])
    assert list(published[-1].models) == ["deepseek/deepseek-chat"]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "model list of openrouter: 1 left out" in warning
    assert "google/gemini-2.5-flash-image: capability `images`" in warning


def test_the_server_entry_point_stops_with_the_message_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` and `make serve` start through create_app_from_env: a bad catalog ends the
    start with one line naming the row, not a traceback."""
    from web.app import create_app_from_env

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("providers:\n  - name: bad\n    kind: nosuch\nmodels: []\n")
    monkeypatch.setenv("WMGW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WMGW_CATALOG", str(catalog))
    with pytest.raises(SystemExit) as stopped:
        create_app_from_env()
    assert str(stopped.value).startswith(f"wmgw: {catalog}: provider `bad`: unknown kind")
