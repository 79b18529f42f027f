"""Sealing users' own upstream keys (BYOK) at rest: AES-256-GCM under a key derived from the
server secret with HKDF, so a copy of the database alone reveals nothing. The user id is the
associated data: a sealed key moved to another user's row does not open."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


class Unsealable(Exception):
    """The sealed value was altered, moved, or sealed under another server secret."""


def _aead(server_secret: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"wmgw byok v1").derive(
        server_secret
    )
    return AESGCM(key)


def seal(server_secret: bytes, plaintext: str, owner: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _aead(server_secret).encrypt(nonce, plaintext.encode(), owner.encode())
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(server_secret: bytes, token: str, owner: str) -> str:
    version, _, body = token.partition(".")
    if version != VERSION:
        raise Unsealable("unknown sealing version")
    raw = base64.urlsafe_b64decode(body)
    try:
        return _aead(server_secret).decrypt(raw[:12], raw[12:], owner.encode()).decode()
    except InvalidTag as exc:
        raise Unsealable("the sealed key does not open") from exc
