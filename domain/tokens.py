"""Token estimates for when an upstream reports no usage (a stream cut short, a provider that
sends none). Never zero: a request that produced text is never metered as free.

Counts are OpenAI's cl100k_base BPE, run by tiktoken on the encoding file kept beside this
module (tiktoken would otherwise download it at first use; this machine is offline). Its
SHA-256 is checked when it is loaded. For other vendors' models it is an estimate, and the
ledger row says so.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tiktoken
from tiktoken.load import load_tiktoken_bpe

CL100K_FILE = Path(__file__).resolve().parent / "data" / "cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
TOKENS_PER_MESSAGE = 3  # OpenAI's framing of each chat message
TOKENS_PER_REPLY = 3


@functools.cache
def encoding() -> tiktoken.Encoding:
    """Loaded once, on first use (about 0.3 s and 45 MB, so only by workers that need an
    estimate); the gateway calls the estimates from a worker thread, never on the loop."""
    ranks = load_tiktoken_bpe(str(CL100K_FILE), expected_hash=CL100K_SHA256)
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=CL100K_SPECIAL,
    )


def estimate_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=())) if text else 0


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: count their text; other parts by their JSON
        return " ".join(p.get("text") or json.dumps(p) for p in value if isinstance(p, dict))
    return json.dumps(value) if value else ""


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Every message's text and tool calls, plus OpenAI's framing per message and reply."""
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + estimate_tokens(_text(message.get("content")))
        if message.get("tool_calls"):
            total += estimate_tokens(json.dumps(message["tool_calls"]))
    return total
