"""The gateway as `make serve` runs it, for tests: gunicorn with several uvicorn worker
processes on one loopback port, the database and settings given by environment variables.

    with gunicorn_gateway(env, workers=4) as served:
        httpx.get(f"{served.url}/api/openai/v1/models", ...)
        os.kill(served.worker_pids()[0], signal.SIGKILL)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.leak_watch import WATCH

GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKER_CLASS = "uvicorn_worker.UvicornWorker"


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """The worker processes the master runs now."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the master and wait for it to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(served: Served, workers: int, timeout: float) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {served.log.read_text()[-2000:]}")
        if (
            len(served.worker_pids()) == workers
            and "Application startup complete" in (log := served.log.read_text())
            and log.count("Application startup complete") >= workers
        ):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"gunicorn did not start in {timeout} s: {served.log.read_text()[-2000:]}")


@contextmanager
def gunicorn_gateway(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    workers: int = 4,
    graceful_timeout: int = 30,
    worker_class: str = WORKER_CLASS,
    startup_timeout: float = 60,
) -> Iterator[Served]:
    port = _free_port()
    log = log_dir / f"gunicorn-{port}.log"
    command = [
        str(GUNICORN),
        "web.app:create_app_from_env()",
        "-c",
        "python:web.gunicorn_conf",  # as `make serve`: Prometheus' multiprocess mode
        "-k",
        worker_class,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        str(graceful_timeout),
        "--log-level",
        "info",
    ]
    WATCH.remember_environment(env)
    WATCH.watch_file(log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(served, workers, startup_timeout)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(graceful_timeout + 15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
