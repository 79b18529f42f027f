"""Gemini's thought signatures through OpenAI's tool calls.

Gemini returns a `thoughtSignature` on (the first) `functionCall` part of each step, and Gemini
3 refuses a conversation whose current turn sends a step's calls back without it (400). As
Google's own OpenAI-compatible API does, the signature rides on the tool call we return, in
`extra_content.google.thought_signature`, which OpenAI clients send back unchanged with the
assistant message; it is put back on the `functionCall` part when the conversation returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]

# Models that refuse a step's function calls without their thought signature, and what Google
# documents to send for a history whose signatures are lost (a client that drops
# `extra_content`, a conversation begun on another model).
SIGNED_MODELS = ("gemini-3",)
PLACEHOLDER = "skip_thought_signature_validator"


def requires_signatures(upstream_id: str) -> bool:
    return upstream_id.startswith(SIGNED_MODELS)


def carried(part: Mapping[str, Any]) -> JSON | None:
    """The `extra_content` that carries a `functionCall` part's signature, if it has one."""
    signature = part.get("thoughtSignature")
    if not isinstance(signature, str) or not signature:
        return None
    return {"google": {"thought_signature": signature}}


def signature_of(call: Mapping[str, Any]) -> str | None:
    """The signature a tool call sent back by a client carries, if any."""
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, Mapping) else None
    signature = google.get("thought_signature") if isinstance(google, Mapping) else None
    return signature if isinstance(signature, str) and signature else None


def signed(parts: list[JSON], calls: list[Any], required: bool) -> list[JSON]:
    """The `functionCall` parts of one step (`calls`: their tool calls, in order) with their
    signatures; when `required` and none survived, the placeholder on the first."""
    for part, call in zip(parts, calls, strict=True):
        signature = signature_of(call) if isinstance(call, Mapping) else None
        if signature:
            part["thoughtSignature"] = signature
    if required and parts and not any("thoughtSignature" in p for p in parts):
        parts[0]["thoughtSignature"] = PLACEHOLDER
    return parts
