"""Text from an upstream, with anything resembling a credential taken out before a client (or
a log) reads it. Upstreams repeat keys in their errors ("Incorrect API key provided: sk-...",
a URL with `?key=`), and the key they repeat is the gateway's own or a user's (BYOK).

Removed: the given secrets exactly (the keys a request went out with), and what is shaped like
a key: our developer keys, `Bearer ...`, `sk-...` (OpenAI, `sk-ant-` Anthropic, `sk-or-`
OpenRouter), `AIza...` (Google), `r8_...` (Replicate), `key=` in URLs, and any long token
mixing upper case, lower case and digits. Hex ids, UUIDs, model names and words stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter "secrets" (test keys, placeholders) would mask ordinary words

_SHAPED = [
    (re.compile(r"\bwm_v2\.[A-Za-z0-9_.\-]+"), "wm_v2." + MASK),
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1" + MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_\-*]{6,}"), MASK),
    (re.compile(r"\bAIza[A-Za-z0-9_\-*]{10,}"), MASK),
    (re.compile(r"\br8_[A-Za-z0-9_\-*]{10,}"), MASK),
    (re.compile(r"(?i)([?&](?:key|api_key|api-key|access_token|token)=)[^&\s\"'<>]+"), r"\1***"),
]
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{32,}")
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with `secrets` and anything shaped like a credential replaced by `***`."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]:
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPED:
        text = pattern.sub(replacement, text)
    return _LONG_TOKEN.sub(_mask_random, text)


def _mask_random(match: re.Match[str]) -> str:
    token = match.group(0)
    looks_random = all(p.search(token) for p in (_UPPER, _LOWER, _DIGIT))
    return MASK if looks_random else token
