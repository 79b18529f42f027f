"""Driving `writingmate/echo`, the built-in offline model, directly in its tests: its catalog
entry, a chat stream of it, and readers of the chunks it streams. Its tokens are words and
punctuation marks: `\\w+|[^\\w\\s]`."""

from __future__ import annotations

import re
from typing import Any

from domain.catalog import ModelEntry
from providers.echo.model import Echo

MODEL = ModelEntry(
    slug="writingmate/echo",
    provider="writingmate",
    upstream_id="echo",
    created=1767225600,
    owned_by="writingmate",
)


def tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def stream(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [chunk async for chunk in Echo("writingmate").stream_chat(body, MODEL)]


def content_of(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in chunks
        for choice in chunk["choices"]
        if choice["index"] == index
    )


def finish_of(chunks: list[dict[str, Any]], index: int = 0) -> str | None:
    reasons = [
        choice["finish_reason"]
        for chunk in chunks
        for choice in chunk["choices"]
        if choice["index"] == index and choice["finish_reason"]
    ]
    assert len(reasons) == 1
    return reasons[0]


def usage_of(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return chunks[-1]["usage"]
