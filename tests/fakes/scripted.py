"""What every scripted fake upstream shares: a FIFO of canned outcomes that tests push and the
ASGI app pops, a record of the requests received, and serving on loopback. Tests drive a fake
from pytest's thread while uvicorn runs it in another, so the shared state is locked."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from .server import serve_asgi

Outcome = TypeVar("Outcome")
Record = TypeVar("Record")


class ScriptedFake(Generic[Outcome, Record]):
    def __init__(self) -> None:
        self.base_url: str | None = None
        self._lock = threading.Lock()
        self._script: deque[Outcome] = deque()
        self._requests: list[Record] = []

    def _push(self, outcomes: Iterable[Outcome]) -> None:
        with self._lock:
            self._script.extend(outcomes)

    def _next(self, default: Outcome) -> Outcome:
        """The next scripted outcome, or `default` when the script is empty."""
        with self._lock:
            return self._script.popleft() if self._script else default

    def _record(self, request: Record) -> None:
        with self._lock:
            self._requests.append(request)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[Record]:
        with self._lock:
            return list(self._requests)

    @contextmanager
    def serve(self, **options: Any) -> Iterator[str]:
        """Run this fake with uvicorn; yield its base URL (`http://127.0.0.1:<port>`)."""
        with serve_asgi(self, **options) as url:  # type: ignore[arg-type]
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = None
