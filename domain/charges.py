"""What a request is charged, by how it ended.

    status               when                                              charged
    completed            the answer was delivered                          its usage
    interrupted          the upstream failed after output was sent         what it produced
    client_disconnected  the client left (the upstream call is cancelled)  its prompt (which the
                                                                           upstream had read) and
                                                                           what it produced
    shutdown             the server ended it at its graceful deadline      what was delivered
    upstream_error       the upstream failed before any output             nothing
    gateway_error        the gateway itself failed (a 500)                 nothing
    abandoned            its process died; another settled it once its     what it had reported
                         lease ran out                                     at its last renewal

A request's usage counts as messages by the published rule (domain/metering.py); a request
charged for nothing counts 0, and one on the user's own upstream key (BYOK) counts 0 against the
plan whatever it used.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.metering import Usage, messages_for

COMPLETED = "completed"
INTERRUPTED = "interrupted"
CLIENT_DISCONNECTED = "client_disconnected"
SHUTDOWN = "shutdown"
UPSTREAM_ERROR = "upstream_error"
GATEWAY_ERROR = "gateway_error"
ABANDONED = "abandoned"

FREE = frozenset({UPSTREAM_ERROR, GATEWAY_ERROR})


@dataclass(frozen=True, slots=True)
class Ending:
    """How one request ended: the ledger's status and HTTP status, the usage it produced (as
    reported by the upstream where it did, else estimated), whether any output reached the
    client, and what it produced besides tokens."""

    status: str
    http_status: int
    usage: Usage
    delivered: bool = False
    images: int = 0
    video_seconds: int = 0

    @property
    def charged(self) -> bool:
        if self.status in FREE:
            return False
        if self.status == SHUTDOWN:
            return self.delivered
        if self.status == ABANDONED:
            return self.usage.completion_tokens > 0
        return True


def messages_charged(ending: Ending, *, byok: bool = False) -> int:
    """Messages counted against the plan for a request that ended so."""
    if byok or not ending.charged:
        return 0
    return messages_for(ending.usage)


def images_charged(ending: Ending, reserved: int) -> int:
    """Images counted: those produced and delivered, never more than were reserved."""
    return min(ending.images, reserved) if ending.status == COMPLETED else 0
