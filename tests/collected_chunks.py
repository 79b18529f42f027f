"""What the gateway makes of a provider's `chat.completion.chunk`s when it collects them into
one answer (each choice repaired, then collected), for the translation tests of every
provider."""

from __future__ import annotations

from typing import Any

from providers.chunks import Collector, ToolCallRepair, repair_choice


def collect(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    collector, tools = Collector(), ToolCallRepair()
    for chunk in chunks:
        collector.add({**chunk, "choices": [repair_choice(c, tools) for c in chunk["choices"]]})
    return collector.completion(id="x", created=0, model="m")
