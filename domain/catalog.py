"""The model catalog: which models exist, who serves them, and which plans may use them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain import model_hints
from domain.errors import ModelNotFound, ModelNotSupported, PermissionDenied

DEFAULT_MAX_OUTPUT = 32_768  # a model whose maximum the catalog does not know
ALL_PLANS = "*"

# What each capability lets a model serve, as the error names it.
ENDPOINT_NAMES = {
    "chat": "chat completions",
    "completions": "text completions",
    "images": "image generation",
    "video": "video generation",
    "transcription": "audio transcription",
    "embeddings": "embeddings",
}


@dataclass(frozen=True, slots=True)
class ModelEntry:
    slug: str  # what clients send: `provider/model`
    provider: str  # name of a provider row
    upstream_id: str  # what the upstream calls it
    created: int
    owned_by: str
    capabilities: frozenset[str] = frozenset()
    plans: frozenset[str] = frozenset({ALL_PLANS})
    context_length: int | None = None
    max_output_tokens: int | None = None  # the most it writes in one answer, when known
    pricing: Mapping[str, str] | None = None  # USD per token, as strings (OpenRouter's form)
    fallbacks: tuple[str, ...] = ()  # models to try, in order, when its upstream fails

    @property
    def output_limit(self) -> int:
        """The output allowance of a request that sets none: the model's own maximum, else
        DEFAULT_MAX_OUTPUT."""
        return self.max_output_tokens or DEFAULT_MAX_OUTPUT

    def allowed_on(self, plan: str) -> bool:
        return ALL_PLANS in self.plans or plan in self.plans

    def as_openai(self) -> dict[str, Any]:
        """OpenAI's four fields, plus OpenRouter's `context_length` and `pricing` when known."""
        model: dict[str, Any] = {
            "id": self.slug,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        }
        if self.context_length is not None:
            model["context_length"] = self.context_length
        if self.pricing:
            model["pricing"] = dict(self.pricing)
        return model


@dataclass(frozen=True, slots=True)
class Catalog:
    models: Mapping[str, ModelEntry] = field(default_factory=dict)
    # For each provider that is not configured, the environment variables it lacks: what a
    # 404 for one of its models tells the caller to set.
    setup: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[ModelEntry]) -> Catalog:
        return cls({entry.slug: entry for entry in entries})

    def with_setup(self, setup: Mapping[str, tuple[str, ...]]) -> Catalog:
        return Catalog(self.models, dict(setup))

    def with_synced(self, entries: Iterable[ModelEntry], configured: Iterable[str]) -> Catalog:
        """Add synced models (OpenRouter's list). A slug configured by hand keeps its own
        route while its provider is configured; otherwise the synced model serves it."""
        ready = set(configured)
        merged = {e.slug: e for e in entries}
        for slug, entry in self.models.items():
            if entry.provider in ready or slug not in merged:
                merged[slug] = entry
        return Catalog(merged, self.setup)

    def visible(self, plan: str, configured: Iterable[str]) -> list[ModelEntry]:
        """Models a workspace on `plan` can call, given the providers that are configured."""
        ready = set(configured)
        return [m for m in self.models.values() if m.provider in ready and m.allowed_on(plan)]

    def lookup(self, slug: str, configured: Iterable[str], plan: str | None = None) -> ModelEntry:
        """The model behind a slug, or 404 when it is unknown or its provider is not set up
        (saying which setting is missing, or which slugs on `plan` match)."""
        entry = self.models.get(slug)
        if entry is None or entry.provider not in set(configured):
            ready = frozenset(configured)
            raise model_hints.not_found(slug, self.models, ready, plan, self.setup)
        return entry

    def visible_model(self, slug: str, plan: str, configured: Iterable[str]) -> ModelEntry:
        """One model as `GET /models/{id}` shows it: 404 also when the plan excludes it."""
        entry = self.lookup(slug, configured, plan)
        if not entry.allowed_on(plan):
            raise ModelNotFound(slug)
        return entry

    def route(
        self, slug: str, plan: str, configured: Iterable[str], capability: str = "chat"
    ) -> ModelEntry:
        """The model a request may use: 404 when unknown or when it lacks the endpoint's
        capability (`chat`, `images`, ...), 403 when the plan excludes it."""
        entry = self.lookup(slug, configured, plan)
        if capability not in entry.capabilities:
            raise ModelNotSupported(slug, ENDPOINT_NAMES.get(capability, capability))
        if not entry.allowed_on(plan):
            raise PermissionDenied(
                f"Your plan does not include the model `{slug}`.",
                param="model",
                code="model_not_in_plan",
            )
        return entry


def entry_from_config(row: Mapping[str, Any]) -> ModelEntry:
    slug = str(row["slug"])
    plans = row.get("plans", [ALL_PLANS])
    return ModelEntry(
        slug=slug,
        provider=str(row["provider"]),
        upstream_id=str(row.get("upstream_id", slug.split("/", 1)[-1])),
        created=int(row.get("created", 0)),
        owned_by=str(row.get("owned_by", slug.split("/", 1)[0])),
        capabilities=frozenset(row.get("capabilities", ["chat"])),
        plans=frozenset(str(p) for p in plans),
        context_length=row.get("context_length"),
        max_output_tokens=row.get("max_output_tokens"),
        pricing=row.get("pricing") or None,
        fallbacks=tuple(str(slug) for slug in row.get("fallbacks") or ()),
    )
