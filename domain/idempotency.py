"""`Idempotency-Key`: which requests are the same, which answers are kept, and what a request
finding its key already used gets.

A key is scoped to the developer key that sent it. Its first request runs; a request with the
same key and the same fingerprint (method, path, query, workspace, body) gets that request's
answer, waiting for it while it runs; the same key with another fingerprint is a 409.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

from domain.errors import Conflict, InvalidRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "idempotent-replayed"
MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(rb"[\x20-\x7e]{1,%d}" % MAX_KEY_LENGTH)
_BOUNDARY = re.compile(rb'boundary="?([^";]+)"?', re.IGNORECASE)
_SAME_BOUNDARY = b"idempotency-boundary"
# Answers a retry could change: timeouts, conflicts, rate limits, a client that left (nginx's
# 499), and every server error.
_TRANSIENT = frozenset({408, 409, 429, 499})

RUNNING = "running"
DONE = "done"
INTERRUPTED = "interrupted"  # a stream cut off before its end: charged for what it produced
TOO_LARGE = "too_large"  # completed, but its answer was over the size kept for a replay


def parse_key(value: bytes) -> str:
    """The key as sent, if it is 1-255 printable ASCII characters; else a 400."""
    if _PRINTABLE.fullmatch(value) is None:
        raise InvalidRequest(
            f"`{HEADER}` must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            param=HEADER,
            code="invalid_idempotency_key",
        )
    return value.decode("ascii")


def fingerprint(
    method: str, path: str, query: bytes, workspace: bytes, content_type: bytes, body: bytes
) -> str:
    """SHA-256 of what makes two requests the same one. The SDKs draw a new multipart boundary
    for every attempt, so the boundary is replaced by a constant before hashing."""
    boundary = _BOUNDARY.search(content_type) if content_type.startswith(b"multipart/") else None
    if boundary is not None:
        body = body.replace(boundary.group(1), _SAME_BOUNDARY)
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, workspace):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(body)
    return digest.hexdigest()


def is_replayable(status: int) -> bool:
    """Whether an answer is kept for the key's retries: a success, or a client error that the
    same request would get again. Anything else lets a retry run the request again (a failed
    request was not charged)."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in _TRANSIENT)


@dataclass(frozen=True, slots=True)
class Seen:
    """A key's row as another request finds it."""

    state: str
    fingerprint: str
    owner: str | None
    lease_until: int | None  # unix ms
    expires_at: int  # unix ms


class Verdict(Enum):
    TAKE = "take"  # the row is free for this request: expired, or its runner died
    WAIT = "wait"  # another request with this key is running
    REPLAY = "replay"
    REUSED = "reused"
    INTERRUPTED = "interrupted"
    TOO_LARGE = "too_large"


def verdict(seen: Seen, fingerprint: str, now_ms: int) -> Verdict:
    """What a request with `fingerprint` does about the row its key already has."""
    if seen.expires_at <= now_ms:
        return Verdict.TAKE
    if seen.fingerprint != fingerprint:
        return Verdict.REUSED
    if seen.state == RUNNING:
        running = seen.lease_until is not None and seen.lease_until > now_ms
        return Verdict.WAIT if running else Verdict.TAKE
    return {
        DONE: Verdict.REPLAY,
        INTERRUPTED: Verdict.INTERRUPTED,
        TOO_LARGE: Verdict.TOO_LARGE,
    }[seen.state]


def refusal(outcome: Verdict) -> Conflict:
    """The 409 for a key that cannot give its request an answer."""
    if outcome is Verdict.REUSED:
        return Conflict(
            f"This `{HEADER}` was already used with a different request (method, path, query, "
            "workspace or body). Use a new key for a new request.",
            param=HEADER,
            code="idempotency_key_reused",
        )
    if outcome is Verdict.INTERRUPTED:
        return Conflict(
            f"The request first sent with this `{HEADER}` was a stream cut off before its end "
            "(its client left); what it produced was charged and cannot be replayed. Send the "
            "request again with a new key.",
            param=HEADER,
            code="idempotency_key_interrupted",
        )
    return Conflict(
        f"The request first sent with this `{HEADER}` completed, but its response was too "
        "large to be kept for a replay. Send the request again with a new key.",
        param=HEADER,
        code="idempotency_response_too_large",
    )
