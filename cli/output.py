"""How `wmgw` prints: aligned tables for people, JSON (`--json`) for programs. Every time is
printed in UTC, ISO 8601 with its offset (`2026-03-01T12:00:00+00:00`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

NOTHING = "(none)"  # an empty table


def utc(moment: datetime) -> datetime:
    # SQLite hands back the UTC time it was given without its zone: a naive time is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def when(moment: datetime) -> str:
    return utc(moment).isoformat(timespec="seconds")


def plain(value: Any) -> Any:
    """A value as JSON can carry it."""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=plain)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    return str(value)


def picked(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows with the table's columns, in its order: what `--json` prints for a table."""
    return [{column: row.get(column) for column in columns} for row in rows]


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return NOTHING
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
