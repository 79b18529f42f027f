"""What a 404 for a model says beyond "does not exist": the setting that would enable the
provider serving it, or the slugs the caller probably meant. Built on the error path only: a
model that is found costs nothing of this."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from domain.errors import ModelNotFound

if TYPE_CHECKING:
    from domain.catalog import ModelEntry

MAX_SUGGESTIONS = 5


def not_found(
    slug: str,
    models: Mapping[str, ModelEntry],
    configured: frozenset[str],
    plan: str | None,
    setup: Mapping[str, tuple[str, ...]],
) -> ModelNotFound:
    """The 404 for `slug`. `setup` names, for each provider that is not configured, the
    environment variables it lacks; `plan` (when known) keeps suggestions to what the caller
    may use."""
    entry = models.get(slug)
    provider = entry.provider if entry is not None else _prefix(slug)
    if provider is not None and provider not in configured and setup.get(provider):
        return ModelNotFound(slug, _unconfigured(slug, provider, setup[provider], entry is None))
    meant = suggestions(slug, models.values(), configured, plan)
    if meant:
        return ModelNotFound(slug, _did_you_mean(slug, meant))
    # The model it names, were its provider set up.
    for other in suggestions(slug, models.values(), frozenset(setup), plan)[:1]:
        provider = models[other].provider
        return ModelNotFound(slug, _misnamed(slug, other, provider, setup[provider]))
    return ModelNotFound(slug)


def suggestions(
    slug: str, entries: Iterable[ModelEntry], configured: frozenset[str], plan: str | None
) -> list[str]:
    """Slugs the caller may use whose name, upstream id or spelling matches `slug`:
    `gpt-4o-mini` or `OpenAI/GPT-4o-mini` for `openai/gpt-4o-mini`."""
    wanted = slug.lower()
    found = sorted(
        entry.slug
        for entry in entries
        if entry.provider in configured
        and (plan is None or entry.allowed_on(plan))
        and wanted in _names(entry)
    )
    return found[:MAX_SUGGESTIONS]


def _names(entry: ModelEntry) -> tuple[str, str, str]:
    return (entry.slug.lower(), entry.slug.partition("/")[2].lower(), entry.upstream_id.lower())


def _prefix(slug: str) -> str | None:
    prefix, slash, _ = slug.partition("/")
    return prefix if slash else None


def _unconfigured(slug: str, provider: str, missing: tuple[str, ...], unknown: bool) -> str:
    served = "would be served" if unknown else "is served"
    return f"The model `{slug}` {served} {_unconfigured_provider(provider, missing)}"


def _unconfigured_provider(provider: str, missing: tuple[str, ...]) -> str:
    return (
        f"by the provider `{provider}`, which is not configured on this gateway: "
        f"set {' and '.join(missing)}."
    )


def _misnamed(slug: str, other: str, provider: str, missing: tuple[str, ...]) -> str:
    return f"{_no_such(slug)} `{other}` is served {_unconfigured_provider(provider, missing)}"


def _did_you_mean(slug: str, meant: list[str]) -> str:
    quoted = ", ".join(f"`{s}`" for s in meant)
    which = quoted if len(meant) == 1 else f"one of {quoted}"
    return f"{_no_such(slug)} Did you mean {which}?"


def _no_such(slug: str) -> str:
    if "/" in slug:
        return f"The model `{slug}` does not exist."
    return f"The model `{slug}` does not exist: models are named `provider/model`."
