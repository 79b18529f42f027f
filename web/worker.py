"""The gunicorn worker for `make serve`: uvicorn's, with uvicorn's graceful timeout set from
gunicorn's. Without it a uvicorn worker waits for its connections with no limit of its own,
so gunicorn kills it at `--graceful-timeout` before the gateway can end and settle its
streams (web/shutdown.py); with it, uvicorn stops waiting a second before gunicorn would
kill, and the gateway's drain (`WMGW_DRAIN_SECONDS`, below both) has already run."""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker

MARGIN_SECONDS = 1


class GatewayWorker(UvicornWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = max(
            1, int(self.cfg.graceful_timeout) - MARGIN_SECONDS
        )
