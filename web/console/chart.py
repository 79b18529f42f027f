"""The usage chart: one bar per day, drawn server-side as SVG geometry for the template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 720
HEIGHT = 180
LABELS = 24  # below the bars


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    date: str
    value: int


def bars(days: list[dict[str, Any]], measure: str = "messages") -> list[Bar]:
    if not days:
        return []
    top = max(max(int(day[measure]) for day in days), 1)
    step = WIDTH / len(days)
    drawn = []
    for index, day in enumerate(days):
        value = int(day[measure])
        height = (HEIGHT - LABELS) * value / top
        y = HEIGHT - LABELS - height
        drawn.append(Bar(index * step + 1, y, max(step - 2, 1), height, day["date"], value))
    return drawn
