"""The metering headers a client reads: what a request counted and what is left.

    x-writingmate-messages-counted     messages this request counted (0 on your own key)
    x-writingmate-messages-remaining   messages left today under the daily limit
    x-writingmate-messages-reset       when today's window ends (RFC 3339, workspace time zone)
    x-writingmate-pool-remaining       messages left in the workspace's pool
    x-writingmate-images-counted       images counted (POST /images/generations)
    x-writingmate-images-remaining     images left today
    x-writingmate-max-tokens           the output allowance the gateway sent upstream, when it
                                       lowered the request's own to fit what is left
    x-writingmate-byok                 `true`: served on your own upstream key, not counted
    x-writingmate-model                the model that served (a fallback, when the request's
                                       own model failed)
    x-writingmate-attempts             upstream calls made for it (retries and fallbacks)

A stream's headers go out before it has ended, so they carry what admission left
(`-remaining` after this request's reservation) and no `-counted`.
"""

from __future__ import annotations

from domain.quota import IMAGES, MESSAGES
from gateway.tickets import Receipt, Ticket

POOL = "pool"


def admission_headers(ticket: Ticket) -> dict[str, str]:
    headers = _common(ticket)
    for counter_name, name in ((MESSAGES, "messages"), (POOL, "pool"), (IMAGES, "images")):
        counter = ticket.counter(counter_name)
        if counter is not None and counter.remaining is not None:
            headers[f"x-writingmate-{name}-remaining"] = str(counter.remaining)
    return headers


def receipt_headers(ticket: Ticket, receipt: Receipt) -> dict[str, str]:
    headers = _common(ticket)
    headers["x-writingmate-messages-counted"] = str(receipt.messages)
    if ticket.claim.images:
        headers["x-writingmate-images-counted"] = str(receipt.images)
    for counter_name, name in ((MESSAGES, "messages"), (POOL, "pool"), (IMAGES, "images")):
        left = receipt.remaining.get(counter_name)
        if left is not None:
            headers[f"x-writingmate-{name}-remaining"] = str(left)
    return headers


def _common(ticket: Ticket) -> dict[str, str]:
    headers = _served(ticket)
    if ticket.byok:
        headers["x-writingmate-byok"] = "true"
        return headers
    headers["x-writingmate-messages-reset"] = ticket.meter.resets.header(ticket.caller.time_zone)
    if ticket.output_allowance is not None:
        headers["x-writingmate-max-tokens"] = str(ticket.output_allowance)
    return headers


def _served(ticket: Ticket) -> dict[str, str]:
    """Which model served and in how many upstream calls, for requests that may fall back."""
    if not ticket.attempts:
        return {}
    return {
        "x-writingmate-model": ticket.route.model,
        "x-writingmate-attempts": str(ticket.upstream_calls),
    }
