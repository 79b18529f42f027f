"""A graceful stop that settles what is running: when the server is told to stop (SIGTERM or
SIGINT), requests still running `drain_seconds` later are stopped by the gateway itself, each
settled for what it produced and its client told (an error event, or a 503 asking to retry),
before the server's own graceful timeout would cancel them with no word and no ledger row.

uvicorn handles those signals itself (by setting a flag) and tells the app nothing until its
connections have closed, so the gateway adds its own handler in front of uvicorn's, and calls
uvicorn's after it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("wmgw.shutdown")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(callback: Callable[[], Any]) -> Callable[[], None]:
    """Call `callback` on the running loop at the first stop signal; returns a function that
    puts the previous handlers back. Signals reach only the main thread, so elsewhere (an app
    served from a test's thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    fired = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:
            fired = True
            loop.call_soon_threadsafe(callback)
        before = previous[signum]
        if callable(before):
            before(signum, frame)
        elif before != signal.SIG_IGN:  # nobody else handled it: do what it would have done
            signal.signal(signum, before)
            signal.raise_signal(signum)

    for sig in STOP_SIGNALS:
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return restore


class Drain:
    """Stops the requests still running `seconds` after the first stop signal."""

    def __init__(self, stop_requests: Callable[[], Any], seconds: float) -> None:
        self.stop_requests = stop_requests
        self.seconds = seconds
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def begin(self) -> None:
        if self._timer is None:
            log.info("stopping: requests still running in %s s will be ended", self.seconds)
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.seconds, self._stop)

    def _stop(self) -> None:
        task = asyncio.get_running_loop().create_task(self.stop_requests())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
