"""What one HTTP request did, gathered while it runs for its log line and metrics
(web/observer.py): the outermost middleware puts an `Exchange` in the scope, and the parts
that learn something fill in what they know, from values already at hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.errors import GatewayError
    from gateway.auth import Caller
    from gateway.tickets import Ticket

EXCHANGE = "wmgw.exchange"
# An id a client or a proxy in front (nginx's $request_id) sent in `X-Request-Id`, kept when
# it has this shape.
CLIENT_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


@dataclass(slots=True)
class Exchange:
    request_id: str
    client_request_id: str | None
    method: str
    started: float  # time.monotonic() when it arrived
    status: int = 0  # the HTTP status sent, 0 until a response starts
    operation: str | None = None  # its operationId, once routed (middleware.NamesOperation)
    caller: Caller | None = None  # set by the key check
    ticket: Ticket | None = None  # set when it was admitted (web/answers.py)
    error: GatewayError | None = None  # the error it was answered with (error_responses.py)
    streaming: bool = False  # answered as an SSE stream, when it starts with 200


def client_request_id(value: bytes | None) -> str | None:
    """The client's `X-Request-Id` when well-formed, else None."""
    if value is None or CLIENT_REQUEST_ID.fullmatch(value) is None:
        return None
    return value.decode()
