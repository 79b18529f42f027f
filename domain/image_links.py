"""Names of stored images: unguessable, expiring, and verifiable by any host holding the key.

A name is `<token>.<extension>`, the token being base64url of a 128-bit random id, the expiry
(Unix seconds) and an HMAC-SHA256 tag (128 bits) over both and the extension. A guessed, altered
or expired name is refused before any file is looked up, and every gateway sharing the server
secret and the image directory serves the same links without a database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

ID_BYTES = 16
TAG_BYTES = 16
_EXPIRY = struct.Struct(">Q")
_TOKEN_BYTES = ID_BYTES + _EXPIRY.size + TAG_BYTES
_KEY_LABEL = b"wmgw image links v1"

# The media types the gateway stores and serves, by file extension.
MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
EXTENSIONS = {media: ext for ext, media in MEDIA_TYPES.items()} | {"image/jpg": "jpeg"}


def link_key(server_secret: bytes) -> bytes:
    """A key for image links only, derived from the server secret (never the secret itself)."""
    return hmac.new(server_secret, _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ImageLink:
    image_id: bytes
    expires_at: int
    extension: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]

    @property
    def file_name(self) -> str:
        """Where the image lives in the store; the expiry first, so sweeping needs no reads."""
        return f"{self.expires_at}-{self.image_id.hex()}.{self.extension}"

    def name(self, key: bytes) -> str:
        body = self.image_id + _EXPIRY.pack(self.expires_at)
        return f"{_encode(body + _tag(key, body, self.extension))}.{self.extension}"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_link(media_type: str, expires_at: int) -> ImageLink:
    extension = EXTENSIONS.get(media_type.split(";")[0].strip().lower(), "png")
    return ImageLink(secrets.token_bytes(ID_BYTES), expires_at, extension)


def _tag(key: bytes, body: bytes, extension: str) -> bytes:
    return hmac.new(key, body + extension.encode(), hashlib.sha256).digest()[:TAG_BYTES]


def parse(key: bytes, name: str, now: float) -> ImageLink | None:
    """The link a name stands for, or None if it is malformed, forged or expired."""
    token, dot, extension = name.partition(".")
    if not dot or extension not in MEDIA_TYPES:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES or _encode(raw) != token:
        return None  # one spelling per link: no padding-bit or stray-character variants
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, body, extension)):
        return None
    (expires_at,) = _EXPIRY.unpack(body[ID_BYTES:])
    if expires_at <= now:
        return None
    return ImageLink(body[:ID_BYTES], expires_at, extension)
