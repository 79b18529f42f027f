"""Token estimates for when an upstream reports no usage (a stream cut short, a provider that
sends none). Never zero: a request that produced text is never metered as free."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) if text else 0


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Text of every message plus a few tokens of framing per message, as OpenAI counts."""
    total = 0
    for message in messages:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content or "")
        total += (
            4 + estimate_tokens(text) + estimate_tokens(json.dumps(message.get("tool_calls") or ""))
        )
    return total
