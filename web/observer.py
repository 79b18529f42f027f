"""The end of every request, seen once by the outermost middleware: its metrics
(gateway/metrics.py) and its one log line (logger `wmgw.requests`, INFO), built from what its
Exchange gathered on the way (web/exchanges.py). docs/operations.md lists both.

A metered request's status is the one its ledger row records: a stream that failed after it
began counts as that failure (the HTTP status sent was 200), a client that left as 499.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from domain.errors import GatewayError, QuotaExceeded
from gateway.attempts import SERVED
from gateway.failures import failure_kind
from gateway.metrics import Metrics
from gateway.tickets import Ticket
from web.exchanges import Exchange

log = logging.getLogger("wmgw.requests")
UNROUTED = "unrouted"  # no operation matched (404, 405)
CLIENT_LEFT = 499  # no response was started: the client went away
UNKNOWN = "unknown"


class RequestObserver:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def stream_opened(self) -> None:
        self.metrics.stream_opened()

    def stream_closed(self) -> None:
        self.metrics.stream_closed()

    def ended(self, exchange: Exchange) -> None:
        seconds = time.monotonic() - exchange.started
        operation = exchange.operation
        endpoint = operation.removeprefix("handlers.") if operation else UNROUTED
        fields: dict[str, Any] = {
            "event": "request",
            "request_id": exchange.request_id,
            "method": exchange.method,
            "endpoint": endpoint,
        }
        if exchange.client_request_id is not None:
            fields["client_request_id"] = exchange.client_request_id
        ticket = exchange.ticket
        caller = exchange.caller or (ticket.caller if ticket is not None else None)
        if caller is not None:
            fields["workspace_id"] = caller.workspace_id
            fields["key_id"] = caller.key_id
        status = exchange.status or CLIENT_LEFT
        error = exchange.error
        model = provider = ""
        if ticket is not None:
            model, provider = ticket.route.model, ticket.route.provider
            status = self._metered(ticket, exchange, fields, status)
            error = error or ticket.failure
        elif error is not None and (failed := failure_kind(error)) is not None:
            self.metrics.upstream_failed(UNKNOWN, failed)
        if error is not None:
            fields["error_code"] = error.code
            if isinstance(error, QuotaExceeded):
                self.metrics.quota_refused(error.unit)
        self.metrics.request(endpoint, model, provider, status, seconds)
        duration_ms = int(seconds * 1000)
        fields["status"] = status
        fields["duration_ms"] = duration_ms
        log.info(
            "%s %s %s %s %d ms%s",
            exchange.request_id,
            exchange.method,
            endpoint,
            status,
            duration_ms,
            f" {model}" if model else "",
            extra=fields,
        )

    def _metered(
        self, ticket: Ticket, exchange: Exchange, fields: dict[str, Any], status: int
    ) -> int:
        """The facts of an admitted request, in `fields` and the metrics; its status."""
        model, provider = ticket.route.model, ticket.route.provider
        fields["model"] = model
        fields["provider"] = provider
        ending = ticket.ending
        if ending is not None:
            status = ending.http_status
            usage = ending.usage
            messages = ticket.receipt.messages if ticket.receipt is not None else 0
            if ending.charged:
                fields["prompt_tokens"] = usage.prompt_tokens
                fields["completion_tokens"] = usage.completion_tokens
                fields["cached_tokens"] = usage.cached_tokens
                self.metrics.metered(
                    model,
                    provider,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.cached_tokens,
                    messages,
                )
            fields["messages"] = messages
        if ticket.first_output is not None:
            first = ticket.first_output - exchange.started
            fields["first_output_ms"] = int(first * 1000)
            self.metrics.first_output(model, provider, first)
        attempts = ticket.attempts
        if len(attempts) > 1 or (attempts and attempts[0].outcome != SERVED):
            self._attempts(ticket, fields)
        if ticket.failure is not None and (not attempts or attempts[-1].outcome == SERVED):
            # Failures raised by no upstream call of the failover: a stream broken after its
            # output began, or an endpoint without fallbacks.
            self._upstream_failure(provider, ticket.failure)
        return status

    def _attempts(self, ticket: Ticket, fields: dict[str, Any]) -> None:
        attempts = ticket.attempts
        fields["attempts"] = ticket.upstream_calls
        for attempt in attempts:
            if attempt.failure_kind is not None:
                self.metrics.upstream_failed(attempt.provider, attempt.failure_kind)
        served = attempts[-1]
        if served.outcome == SERVED and served.model != attempts[0].model:
            fields["fallback_from"] = attempts[0].model
            self.metrics.fell_back(attempts[0].model, served.model)

    def _upstream_failure(self, provider: str, error: GatewayError) -> None:
        failed = failure_kind(error)
        if failed is not None:
            self.metrics.upstream_failed(provider, failed)
