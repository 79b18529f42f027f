"""Gemini 3's check of thought signatures, for the fake Gemini upstream.

In the current turn (after the last user message that is not only function responses), each
model step's first `functionCall` part must carry a signature the fake issued, or one of the
placeholders Google documents for histories without one; else 400 `INVALID_ARGUMENT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

JSON = dict[str, Any]

SIGNATURE_PLACEHOLDERS = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)


def unsigned_call(model: str, body: JSON, issued: Set[str]) -> tuple[int, str] | None:
    """Gemini 3's 400 for a current-turn step whose calls lost their signature."""
    if not model.startswith("gemini-3"):
        return None
    accepted = issued | SIGNATURE_PLACEHOLDERS
    contents = body["contents"]
    starts = [i for i, c in enumerate(contents) if _opens_turn(c)]
    for position in range(starts[-1] + 1 if starts else 0, len(contents)):
        calls = [p for p in contents[position].get("parts") or [] if "functionCall" in p]
        if contents[position].get("role") != "model" or not calls:
            continue
        signature = calls[0].get("thoughtSignature")
        if signature is None:
            return 400, (
                "Function call is missing a thought_signature in functionCall parts. This "
                "is required for tools to work correctly. Additional data, function call "
                f"`{calls[0]['functionCall'].get('name')}`, position {position}. Please "
                "refer to https://ai.google.dev/gemini-api/docs/thought-signatures."
            )
        if signature not in accepted:
            return 400, "Corrupted thought signature."
    return None


def _opens_turn(content: Mapping[str, Any]) -> bool:
    """A user message with something besides function responses starts a new turn."""
    parts = content.get("parts") or []
    return content.get("role", "user") == "user" and any("functionResponse" not in p for p in parts)
