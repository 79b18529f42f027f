"""Reading the catalog file (catalog.yaml): provider rows and model entries. What they say is
checked against the provider kinds by `check_catalog_file` when the app starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domain.catalog import Catalog, ModelEntry, entry_from_config
from domain.catalog_checks import check_catalog
from domain.errors import CatalogError
from domain.provider_kinds import KindCapabilities


@dataclass(frozen=True)
class CatalogFile:
    catalog: Catalog
    provider_rows: list[dict[str, Any]]
    path: Path | None = None
    entries: tuple[ModelEntry, ...] = ()  # as listed, duplicates included


def load_catalog(path: Path) -> CatalogFile:
    """The file's rows and models; CatalogError when it is not a catalog at all."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(str(path), [f"cannot be read: {exc}"]) from None
    if not isinstance(document, dict):
        raise CatalogError(str(path), ["holds no `providers:` and `models:`"])
    rows = [dict(row) for row in _mappings(path, document, "providers")]
    entries = tuple(
        _entry(path, index, row) for index, row in enumerate(_mappings(path, document, "models"))
    )
    return CatalogFile(Catalog.of(entries), rows, path, entries)


def check_catalog_file(file: CatalogFile, kinds: Mapping[str, KindCapabilities]) -> None:
    """Stop the start (CatalogError) when a row or model cannot be served by its kind."""
    check_catalog(str(file.path), file.provider_rows, file.entries, kinds)


def _mappings(path: Path, document: dict[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = document.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CatalogError(str(path), [f"`{key}:` must be a list of mappings"])
    return items


def _entry(path: Path, index: int, row: Mapping[str, Any]) -> ModelEntry:
    if not row.get("slug") or not row.get("provider"):
        name = f"model `{row['slug']}`" if row.get("slug") else f"models[{index}]"
        raise CatalogError(str(path), [f"{name}: a model needs a `slug` and a `provider`"])
    try:
        return entry_from_config(row)
    except (TypeError, ValueError) as exc:
        raise CatalogError(str(path), [f"model `{row['slug']}`: {exc}"]) from None
