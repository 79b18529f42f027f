"""Reading the catalog file (catalog.yaml): provider rows and model entries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domain.catalog import Catalog, entry_from_config


@dataclass(frozen=True)
class CatalogFile:
    catalog: Catalog
    provider_rows: list[dict[str, Any]]


def load_catalog(path: Path) -> CatalogFile:
    document = yaml.safe_load(path.read_text()) or {}
    rows = [dict(row) for row in document.get("providers", [])]
    names = {row["name"] for row in rows}
    entries = [entry_from_config(row) for row in document.get("models", [])]
    unknown = sorted({e.provider for e in entries} - names)
    if unknown:
        raise ValueError(f"{path}: models name unknown providers: {', '.join(unknown)}")
    return CatalogFile(catalog=Catalog.of(entries), provider_rows=rows)
