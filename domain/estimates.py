"""Cheap upper estimates of a request's prompt, for admission (no tokenizer: it runs on every
request, on the event loop).

Text is counted at one token per three characters. Tokenizers put about four characters of
English or code in a token and about one CJK character, so this is above the real count for
most text, and close for Chinese, Japanese and Korean. Each image, audio or file part counts
MEDIA_PART_TOKENS (about what a large image costs on the providers we route to). Tool
definitions, tool calls and JSON schemas count by the length of their JSON. The error of this
estimate is the only way a day's usage can pass its limit: a request's reservation covers its
estimated prompt and its whole output allowance, and the settlement charges what it really
used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

CHARS_PER_TOKEN = 3
MEDIA_PART_TOKENS = 1_600
PER_MESSAGE_TOKENS = 4  # a message's framing (role, separators)


def text_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def _json_tokens(value: Any) -> int:
    return text_tokens(orjson.dumps(value).decode()) if value else 0


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return text_tokens(content)
    if not isinstance(content, list):
        return _json_tokens(content)
    total = 0
    for part in content:
        if not isinstance(part, Mapping):
            continue
        text = part.get("text")
        total += text_tokens(text) if isinstance(text, str) else MEDIA_PART_TOKENS
    return total


def messages_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += PER_MESSAGE_TOKENS + _content_tokens(message.get("content"))
        total += _json_tokens(message.get("tool_calls"))
    return total


def chat_prompt_tokens(body: Mapping[str, Any]) -> int:
    """A chat completions request's prompt: its messages, tools and response schema."""
    messages = body.get("messages") or []
    return (
        messages_tokens(messages)
        + _json_tokens(body.get("tools"))
        + _json_tokens(body.get("response_format"))
    )


def input_tokens(value: Any) -> int:
    """A prompt or an embeddings input: a string, token ids, or a list of either."""
    if isinstance(value, str):
        return text_tokens(value)
    if isinstance(value, list):
        if all(isinstance(item, int) for item in value):
            return len(value)
        return sum(input_tokens(item) for item in value)
    return 0


def audio_tokens(size_bytes: int) -> int:
    """An audio upload, as if it were compressed speech at 32 kbit/s (4,000 bytes a second)
    read at 50 tokens a second, above what transcription models report."""
    return -(-size_bytes // 80)
