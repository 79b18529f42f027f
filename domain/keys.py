"""Developer keys: `wm_v2.<key-id>.<secret>.<signature>`.

- key id: public, random, what the database is searched by;
- secret: 256 random bits, only its SHA-256 is stored (a secret with that much entropy needs
  no slow hash: there is nothing to brute-force);
- signature: HMAC-SHA256 of `wm_v2.<key-id>.<secret>` under the server secret, so a forged or
  mistyped key is refused before any database read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "wm_v2"
_PART = r"[A-Za-z0-9_-]"
_KEY_RE = re.compile(rf"{PREFIX}\.({_PART}{{16}})\.({_PART}{{43}})\.({_PART}{{43}})")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret_hash: str
    plaintext: str  # shown once, never stored


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(server_secret: bytes, key_id: str, secret: str) -> str:
    message = f"{PREFIX}.{key_id}.{secret}".encode()
    return _b64(hmac.new(server_secret, message, hashlib.sha256).digest())


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate(server_secret: bytes) -> NewKey:
    key_id = secrets.token_hex(8)  # hex: never starts with "-", which a shell reads as a flag
    secret = _b64(secrets.token_bytes(32))
    plaintext = f"{PREFIX}.{key_id}.{secret}.{_sign(server_secret, key_id, secret)}"
    return NewKey(key_id=key_id, secret_hash=hash_secret(secret), plaintext=plaintext)


def parse(server_secret: bytes, token: str) -> ParsedKey | None:
    """The key's id and secret when its format and signature are right, else None."""
    match = _KEY_RE.fullmatch(token)
    if match is None:
        return None
    key_id, secret, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(server_secret, key_id, secret)):
        return None
    return ParsedKey(key_id=key_id, secret=secret)


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def redact(text: str) -> str:
    """Hide anything shaped like a bearer token or one of our keys, for logs."""
    text = re.sub(rf"{PREFIX}\.[A-Za-z0-9_.-]+", f"{PREFIX}.***", text)
    return re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)


def key_id_of(token: str) -> str | None:
    """The key id a whole key carries, from its format alone (no signature check: naming a key
    is enough to revoke or rotate it), or None when the text is not shaped like a key."""
    match = _KEY_RE.fullmatch(token)
    return match.group(1) if match else None
