"""Gunicorn's settings for `make serve` (`gunicorn -c python:web.gunicorn_conf ...`): the
server's log in the gateway's format, and Prometheus' multiprocess mode, in which every worker
writes its metrics to files of one directory and `/metrics`, in whichever worker answers it,
adds them up (prometheus_client's documented set-up).

`PROMETHEUS_MULTIPROC_DIR` is the directory: the operator's, or else a private one made at
start and removed at exit. It is set here, in the master, before any worker imports
prometheus_client (which reads it on import), and emptied at every start: files left by
another run would add their counts to this one's. A worker that exits has its live gauges
(open streams, breakers) removed, so they count live workers only.

Like Settings.from_env, this is an entry point: it reads the environment itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gateway.settings import LogSettings
from web.logs import formatter

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_made: list[Path] = []  # the private directory this master made, removed when it exits

_log_format = LogSettings.from_env(os.environ).format
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"gateway": {"()": formatter, "log_format": _log_format}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "gateway",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
    "root": {"level": "WARNING", "handlers": []},  # the app's own (web/logs.py) is added
}


def on_starting(server: Any) -> None:
    given = os.environ.get(METRICS_DIR)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="wmgw-metrics-"))
    if not given:
        _made.append(path)
        os.environ[METRICS_DIR] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess  # imported once the directory is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
