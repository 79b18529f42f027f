"""What the legacy completions tests share: a model for each way the gateway answers (the echo
model and a chat model translated through the chat API, a completions model passed through),
and a reader of a stream's SSE payloads."""

from __future__ import annotations

import json
from typing import Any

ECHO = "writingmate/echo"
INSTRUCT = "openai/gpt-3.5-turbo-instruct"
CHAT_MODEL = "openai/gpt-4o-mini"


def sse_payloads(text: str) -> tuple[list[dict[str, Any]], str]:
    """The JSON payloads of a stream's events, and its last frame."""
    frames = [f for f in text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    return [json.loads(f.removeprefix("data: ")) for f in frames[:-1]], frames[-1]
