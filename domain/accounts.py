"""What an operator may name when managing accounts: e-mail addresses and membership roles."""

from __future__ import annotations

import re

# Roles carry no permission in the gateway yet: they record who runs a workspace.
ROLES = ("owner", "member")

# A pragmatic shape, not RFC 5322: one @, no spaces, a domain of dot-separated labels.
# Single-label domains are allowed (`owner@localhost`, which `wmgw bootstrap` creates).
_EMAIL = re.compile(
    r"[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
MAX_EMAIL_LENGTH = 320  # the users.email column


def is_email(text: str) -> bool:
    return len(text) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(text) is not None
