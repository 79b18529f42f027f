"""The gateway's Prometheus metrics (docs/operations.md lists them): one `Metrics` per worker,
built by the app factory and handed to what observes (web/observer.py at the end of each
request, gateway/breakers.py for circuit breakers). The prometheus_client objects live here and
nowhere else.

Under gunicorn (`make serve`) every worker writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode, set up by
web/gunicorn_conf.py) and `/metrics` adds up those of every worker; under a single process
(`make run`) the values live in this object's own registry.

Each fact is one update of a child bound to its labels, kept by label tuple: prometheus_client's
`labels()` takes a lock and builds a key on every call, which a request need not pay for.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from domain.breaker import Verdict

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: a cached answer, an echo model, a fast upstream, ... a long stream.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
FIRST_TOKEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
BREAKER_STATES = {Verdict.CLOSED: 0, Verdict.OPEN: 1, Verdict.HALF_OPEN: 2}


class MultiprocessUnset(RuntimeError):
    pass


class Metrics:
    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir is not None and not getattr(values.ValueClass, "_multiprocess", False):
            raise MultiprocessUnset(
                "PROMETHEUS_MULTIPROC_DIR must be in the environment before the gateway starts "
                "(prometheus_client reads it when it is imported)"
            )
        # In multiprocess mode the metrics are registered nowhere: /metrics reads the files.
        own = None if multiprocess_dir is not None else CollectorRegistry()
        self.registry = own if own is not None else CollectorRegistry()
        if own is None:
            MultiProcessCollector(self.registry, str(multiprocess_dir))
        else:
            ProcessCollector(registry=own)  # CPU, memory, open files (not in multiprocess mode)
        self._children: dict[Hashable, Callable[..., Any]] = {}
        self.requests = Counter(
            "wmgw_requests",
            "Requests answered, by endpoint (operationId), model, provider and HTTP status.",
            ["endpoint", "model", "provider", "status"],
            registry=own,
        )
        self.duration = Histogram(
            "wmgw_request_duration_seconds",
            "Time from a request's arrival to the end of its answer (a stream's last byte).",
            ["endpoint", "provider"],
            buckets=DURATION_BUCKETS,
            registry=own,
        )
        self.first_token = Histogram(
            "wmgw_time_to_first_token_seconds",
            "Streams: time from the request's arrival to its first content from the upstream.",
            ["model", "provider"],
            buckets=FIRST_TOKEN_BUCKETS,
            registry=own,
        )
        self.tokens = Counter(
            "wmgw_tokens",
            "Tokens metered, by model, provider and kind (prompt, completion, cached).",
            ["model", "provider", "kind"],
            registry=own,
        )
        self.messages = Counter(
            "wmgw_messages",
            "Messages charged against plans, by model and provider.",
            ["model", "provider"],
            registry=own,
        )
        self.quota_refusals = Counter(
            "wmgw_quota_refusals",
            "Requests refused with 429 insufficient_quota, by the limit that refused them "
            "(messages, pool, images, video_seconds).",
            ["unit"],
            registry=own,
        )
        self.upstream_errors = Counter(
            "wmgw_upstream_errors",
            "Failed upstream calls, retried and fallen back ones included, by provider and "
            "kind (refused, unreachable, timeout, reset, 429, 5xx, 4xx, malformed, other).",
            ["provider", "kind"],
            registry=own,
        )
        self.fallbacks = Counter(
            "wmgw_fallbacks",
            "Requests served by a fallback model instead of the one they named.",
            ["from_model", "to_model"],
            registry=own,
        )
        self.open_streams = Gauge(
            "wmgw_open_streams",
            "SSE streams being sent now.",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.breaker_state = Gauge(
            "wmgw_circuit_breaker_state",
            "Circuit breakers as last seen: 0 closed, 1 open, 2 half-open; by provider and "
            "upstream key id (a hash, never the key).",
            ["provider", "key_id"],
            registry=own,
            multiprocess_mode="livemostrecent",
        )
        self.breaker_opens = Counter(
            "wmgw_circuit_breaker_opens",
            "Times a circuit breaker opened, by provider and upstream key id.",
            ["provider", "key_id"],
            registry=own,
        )

    def _child(self, metric: Any, method: str, labels: tuple[str, ...]) -> Callable[..., Any]:
        key = (id(metric), labels)
        bound = self._children.get(key)
        if bound is None:
            bound = self._children[key] = getattr(metric.labels(*labels), method)
        return bound

    # ------------------------------------------------------------------ per request

    def request(
        self, endpoint: str, model: str, provider: str, status: int, seconds: float
    ) -> None:
        self._child(self.requests, "inc", (endpoint, model, provider, str(status)))()
        self._child(self.duration, "observe", (endpoint, provider))(seconds)

    def first_output(self, model: str, provider: str, seconds: float) -> None:
        self._child(self.first_token, "observe", (model, provider))(seconds)

    def metered(
        self, model: str, provider: str, prompt: int, completion: int, cached: int, messages: int
    ) -> None:
        for kind, count in (("prompt", prompt), ("completion", completion), ("cached", cached)):
            if count:
                self._child(self.tokens, "inc", (model, provider, kind))(count)
        if messages:
            self._child(self.messages, "inc", (model, provider))(messages)

    def quota_refused(self, unit: str) -> None:
        self._child(self.quota_refusals, "inc", (unit,))()

    def upstream_failed(self, provider: str, kind: str) -> None:
        self._child(self.upstream_errors, "inc", (provider, kind))()

    def fell_back(self, from_model: str, to_model: str) -> None:
        self._child(self.fallbacks, "inc", (from_model, to_model))()

    def stream_opened(self) -> None:
        self.open_streams.inc()

    def stream_closed(self) -> None:
        self.open_streams.dec()

    # ------------------------------------------------------------------ circuit breakers

    def breaker_seen(self, name: str, verdict: Verdict) -> None:
        self._child(self.breaker_state, "set", breaker_labels(name))(BREAKER_STATES[verdict])

    def breaker_opened(self, name: str) -> None:
        self._child(self.breaker_opens, "inc", breaker_labels(name))()

    # ------------------------------------------------------------------ exposition

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes: every worker's values in multiprocess mode."""
        return generate_latest(self.registry)


def breaker_labels(name: str) -> tuple[str, str]:
    """A breaker's name (domain/breaker.py: `provider` or `provider:<hash of its key>`) as
    (provider, key id)."""
    provider, _, key_id = name.partition(":")
    return provider, key_id
