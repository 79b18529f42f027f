"""The catalog checked against what each provider kind can serve (domain/provider_kinds.py).

catalog.yaml is checked whole when the app starts: any problem stops the start with a
CatalogError naming the file, each provider row or model at fault and what is wrong, rather
than a request failing later. Models found at run time (OpenRouter's synced list, local
servers' lists) pass the same model check one by one (`ModelRules`): one that does not fit is
left out with a warning, and the running server keeps serving the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.catalog import ENDPOINT_NAMES, ModelEntry
from domain.errors import CatalogError
from domain.provider_kinds import (
    ENDPOINTS,
    LOCAL_DISCOVERY,
    SHARED_DISCOVERY,
    TRAITS,
    KindCapabilities,
)

Row = Mapping[str, Any]
Kinds = Mapping[str, KindCapabilities]


def check_catalog(
    source: str, rows: Sequence[Row], models: Sequence[ModelEntry], kinds: Kinds
) -> None:
    """Raise CatalogError listing every problem of the catalog read from `source`."""
    problems = [
        f"provider `{row.get('name')}`: {why}" for row in rows for why in row_problems(row, kinds)
    ]
    problems += _duplicates("provider", [str(row.get("name")) for row in rows])
    problems += _duplicates("model", [model.slug for model in models])
    rules = ModelRules.of(rows, kinds)
    by_slug = {model.slug: model for model in models}
    listing = frozenset(
        str(row.get("name")) for row in rows if row.get("discover") == LOCAL_DISCOVERY
    )
    for model in models:
        whys = rules.problems(model) + fallback_problems(model, by_slug, listing)
        problems += [f"model `{model.slug}`: {why}" for why in whys]
    if problems:
        raise CatalogError(source, problems)


def row_problems(row: Row, kinds: Kinds) -> list[str]:
    """What a provider row asks of its kind that the kind cannot do."""
    if not isinstance(row.get("name"), str) or not row["name"]:
        return ["a provider row needs a `name`"]
    name = row.get("kind")
    kind = kinds.get(str(name))
    if kind is None:
        return [f"unknown kind `{name}` (kinds: {', '.join(sorted(kinds))})"]
    problems = []
    if row.get("byok") and not kind.user_keys:
        able = _kinds_that(kinds, lambda k: k.user_keys)
        problems.append(f"`byok: true`, but kind `{name}` cannot take users' own keys ({able} can)")
    how = row.get("discover")
    if how is not None and how not in (SHARED_DISCOVERY, LOCAL_DISCOVERY):
        problems.append(
            f"`discover: {how}` is neither `{SHARED_DISCOVERY}` nor `{LOCAL_DISCOVERY}`"
        )
    elif how is not None and not kind.model_lists:
        able = _kinds_that(kinds, lambda k: k.model_lists)
        problems.append(f"`discover: {how}`, but kind `{name}` cannot list its models ({able} can)")
    images = row.get("images")
    if images is not None and images not in kind.image_apis:
        choices = ", ".join(f"`{api}`" for api in sorted(kind.image_apis)) or "none"
        problems.append(f"`images: {images}`, but kind `{name}` has no such image API ({choices})")
    return problems


def fallback_problems(
    model: ModelEntry, models: Mapping[str, ModelEntry], listing: frozenset[str]
) -> list[str]:
    """A fallback must be another model of the file sharing one of its endpoints, or a model of
    a server whose list is asked (`<row>/<id>`, known only at run time)."""
    problems = []
    endpoints = model.capabilities & frozenset(ENDPOINTS)
    for slug in model.fallbacks:
        other = models.get(slug)
        if slug == model.slug:
            problems.append("falls back to itself")
        elif other is None and slug.partition("/")[0] not in listing:
            problems.append(f"fallback `{slug}` is not a model of the catalog")
        elif other is not None and not endpoints & other.capabilities:
            problems.append(f"fallback `{slug}` serves none of its endpoints")
    return problems


@dataclass(frozen=True)
class ModelRules:
    """What a model must fit: its provider row, and that row's kind."""

    rows: Mapping[str, Row]
    kinds: Kinds

    @classmethod
    def of(cls, rows: Iterable[Row], kinds: Kinds) -> ModelRules:
        return cls({str(row.get("name")): row for row in rows}, kinds)

    def problems(self, model: ModelEntry) -> list[str]:
        row = self.rows.get(model.provider)
        if row is None:
            return [f"its provider `{model.provider}` is not a provider row of the catalog"]
        problems = []
        unknown = sorted(model.capabilities - frozenset(ENDPOINTS) - frozenset(TRAITS))
        if unknown:
            known = ", ".join((*ENDPOINTS, *TRAITS))
            problems.append(f"unknown capabilities {_listed(unknown)} (known: {known})")
        if not model.capabilities & frozenset(ENDPOINTS):
            problems.append(f"no endpoint among its capabilities ({', '.join(ENDPOINTS)})")
        kind = self.kinds.get(str(row.get("kind")))
        if kind is None:
            return problems  # its provider row's problem says why
        for capability in sorted(kind.unservable(row, model.capabilities)):
            problems.append(self._unservable(model, row, kind, capability))
        return problems

    def fitting(self, models: Iterable[ModelEntry]) -> tuple[list[ModelEntry], dict[str, str]]:
        """The models that fit, and why each other one does not (by slug)."""
        fit, left_out = [], {}
        for model in models:
            problems = self.problems(model)
            if problems:
                left_out[model.slug] = "; ".join(problems)
            else:
                fit.append(model)
        return fit, left_out

    @staticmethod
    def _unservable(model: ModelEntry, row: Row, kind: KindCapabilities, capability: str) -> str:
        endpoint = ENDPOINT_NAMES.get(capability, capability)
        if capability == "images" and kind.images:
            choices = " or ".join(f"`images: {api}`" for api in sorted(kind.image_apis))
            return (
                f"capability `images`, but its provider `{model.provider}` names no image API "
                f"(give its row {choices})"
            )
        return (
            f"capability `{capability}` ({endpoint}), but its provider `{model.provider}` is of "
            f"kind `{row.get('kind')}`, which cannot serve it"
        )


def _duplicates(what: str, names: list[str]) -> list[str]:
    counts = Counter(names)
    return [f"{what} `{name}`: listed {n} times" for name, n in counts.items() if n > 1]


def _kinds_that(kinds: Kinds, test: Callable[[KindCapabilities], bool]) -> str:
    return _listed(sorted(name for name, kind in kinds.items() if test(kind))) or "no kind"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
