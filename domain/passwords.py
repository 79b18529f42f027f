"""Console passwords: argon2id through argon2-cffi (its defaults are RFC 9106's low-memory
profile), and what a password must be."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps a sign-in's work bounded
_HASHER = PasswordHasher()
# Checked when an email has no user or no password, so that a sign-in takes as long either way.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


def problem(password: str) -> str | None:
    """Why the password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password of at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password of at most {MAX_LENGTH} characters"
    return None


def hashed(password: str) -> str:
    return _HASHER.hash(password)


def matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def one_time() -> str:
    """A password to print once (bootstrap), for the owner to sign in and change."""
    return secrets.token_urlsafe(15)
