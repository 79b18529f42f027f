"""Run any ASGI app with uvicorn on 127.0.0.1 in a background thread, for tests.

The listening socket is bound by us to port 0 *before* uvicorn starts, so the port is chosen by
the kernel and there is no race between "find a free port" and "bind it". The context manager
returns only once the server accepts TCP connections, and on exit it asks uvicorn to shut down
gracefully (cancelling any request still running after ``graceful_timeout`` seconds), then joins
the thread.

Example::

    with serve_asgi(app) as base_url:      # "http://127.0.0.1:54321"
        httpx.get(f"{base_url}/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["answer_lifespan", "lower_headers", "read_body", "serve_asgi"]


@contextmanager
def serve_asgi(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
    graceful_timeout: int = 1,
    lifespan: Literal["auto", "on", "off"] = "auto",
    log_level: str = "warning",
    **uvicorn_options: Any,
) -> Iterator[str]:
    """Serve ``app`` on ``host`` and a free port; yield its base URL, e.g. ``http://127.0.0.1:5555``.

    ``uvicorn_options`` are passed to :class:`uvicorn.Config` (for example ``http="h11"``).
    Raises ``RuntimeError`` if the server does not come up within ``startup_timeout`` seconds.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan=lifespan,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=graceful_timeout,
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit on a failed startup
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_serving(server, thread, host, port, startup_timeout, failure)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(shutdown_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(shutdown_timeout)
        sock.close()


def _wait_until_serving(
    server: uvicorn.Server,
    thread: threading.Thread,
    host: str,
    port: int,
    timeout: float,
    failure: list[BaseException],
) -> None:
    """Block until uvicorn reports ``started`` and a TCP connect succeeds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            cause = failure[0] if failure else None
            raise RuntimeError(f"uvicorn on {host}:{port} exited during startup") from cause
        if server.started:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.01)
    server.should_exit = True
    raise RuntimeError(f"uvicorn on {host}:{port} did not start within {timeout} s")


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Answer uvicorn's lifespan messages for a fake that has nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; ``None`` if the client left first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def lower_headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
