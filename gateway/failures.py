"""The server log of failures a client was answered with: the gateway's own (a 500 whose
message names the request id) and an upstream's (the 502, 503 or 504 it became). Each
record carries the request id, in its message and as its `request_id`, so that a user's
report finds it."""

from __future__ import annotations

import logging

from domain.errors import GatewayError, InternalError, UpstreamError
from domain.scrub import scrub

log = logging.getLogger("wmgw.errors")


def unexpected(request_id: str, exc: BaseException, hint: str = "") -> InternalError:
    """A failure inside the gateway, logged with its traceback, and the 500 that names the
    request; `hint` says what the client may do."""
    log.error(
        "request %s failed inside the gateway: %s",
        request_id,
        type(exc).__name__,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    return InternalError(f"The gateway failed on this request ({request_id}).{hint}")


def upstream_failed(request_id: str, error: GatewayError) -> GatewayError:
    """`error`, logged when it is an upstream's failure (an operator must see why clients
    get 502, 503 or 504: a wrong key, an outage), with the transport's exception behind it
    if any. Its message is already scrubbed; the cause's text is scrubbed here."""
    if isinstance(error, UpstreamError):
        cause = error.__cause__
        behind = f" ({type(cause).__name__}: {scrub(str(cause))})" if cause is not None else ""
        log.warning(
            "request %s: upstream failure, answered %s %s: %s%s",
            request_id,
            error.status,
            error.code,
            error.message,
            behind,
            extra={"request_id": request_id},
        )
    return error
