"""The server log of failures a client was answered with: the gateway's own (a 500 whose
message names the request id) and an upstream's (the 502, 503 or 504 it became). Each
record carries the request id, in its message and as its `request_id`, so that a user's
report finds it."""

from __future__ import annotations

import logging

from domain.errors import GatewayError, InternalError, UpstreamError, UpstreamTimeout
from domain.scrub import scrub
from providers.http.client import Broken, ConnectFailed, HttpError, TimedOut, TooLarge, Unsendable

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
            extra={
                "request_id": request_id,
                "event": "upstream_failure",
                "status": error.status,
                "code": error.code,
                "kind": failure_kind(error),
            },
        )
    return error


def failure_kind(error: GatewayError) -> str | None:
    """What kind of upstream failure `error` is, for the metrics: how the exchange broke
    (refused, unreachable, timeout, reset, too_large, unsendable), else the upstream's status
    (429, 5xx, 4xx; 408 is a timeout), else other (such as a malformed answer). None when it
    is no upstream failure: the caller's mistake, a circuit the gateway keeps open."""
    if error.fault is None and not isinstance(error, UpstreamError):
        return None
    if error.code == "circuit_open":
        return None
    cause = error.__cause__
    if isinstance(cause, ConnectFailed):
        refused = isinstance(getattr(cause.__cause__, "os_error", None), ConnectionRefusedError)
        return "refused" if refused else "unreachable"
    if isinstance(cause, HttpError):
        return _TRANSPORT_KINDS.get(type(cause), "other")
    status = error.fault.status if error.fault is not None else None
    if status is not None:
        return _STATUS_KINDS.get(status) or ("5xx" if status >= 500 else "4xx")
    return "timeout" if isinstance(error, UpstreamTimeout) else "other"


_STATUS_KINDS = {408: "timeout", 429: "429"}
_TRANSPORT_KINDS: dict[type[HttpError], str] = {
    TimedOut: "timeout",
    Broken: "reset",
    TooLarge: "too_large",
    Unsendable: "unsendable",
}
