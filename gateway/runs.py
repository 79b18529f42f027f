"""What a use case hands to the web layer once a request is admitted: a run that produces its
answer (one body, or an SSE stream) and says what it has used so far. The web layer
(web/answers.py) runs it, watches the client and settles it; the use cases never see HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from domain.charges import Ending
from domain.errors import GatewayError
from domain.metering import Usage
from gateway.tickets import Ticket


@dataclass
class Answer:
    """A request's whole answer, and what it produced besides tokens."""

    content: bytes
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    images: int = 0
    video_seconds: int = 0


class MeteredRun(Protocol):
    """An admitted request, as this module runs it."""

    @property
    def ticket(self) -> Ticket: ...

    @property
    def streamed(self) -> bool: ...

    async def complete(self) -> Answer:
        """The whole answer (a request that is not streamed)."""

    async def usage(self) -> Usage:
        """What the request has produced so far (the upstream's counts where it reported
        them, else an estimate)."""

    def delivered(self) -> bool:
        """Whether any output has been produced for the client."""


class StreamedRun(MeteredRun, Protocol):
    """An admitted request that can also answer as an SSE stream."""

    async def open(self) -> None:
        """Start the stream and wait for its first output; a failure raised here reaches the
        client as an ordinary JSON error with its status."""

    def frames(self) -> AsyncIterator[bytes]:
        """The stream's frames after `open`; a GatewayError raised here ends it."""

    async def ending_frames(self, ending: Ending, error: GatewayError | None) -> list[bytes]:
        """The stream's last frames, once the request is settled ([DONE], the final events,
        or the error event)."""
