"""The server's log, configured once by the entry point (`create_app_from_env`, and gunicorn's
settings in web/gunicorn_conf.py): every record of the process on standard error, as one
JSON object a line (`WMGW_LOG_FORMAT=json`, the default, for log collectors) or as text for a
terminal (`text`, what `make run` uses).

JSON lines are python-json-logger's, with orjson: `time` (UTC, ISO 8601), `level`, `logger`,
`message`, then the record's own fields (`request_id`, `status`, ... given as `extra`), so a
request's line (web/observer.py) is searchable by any of them. Nothing secret is given to
a record: keys are named by their id, never by their value.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

from gateway.settings import LogSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ["levelname", "name", "message"]
JSON_NAMES = {"levelname": "level", "name": "logger"}


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    return OrjsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, timestamp="time")


def handler(settings: LogSettings) -> logging.Handler:
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(formatter(settings.format))
    return out


def configure(settings: LogSettings) -> None:
    """Standard error gets, in `settings.format`, the gateway's records (`wmgw.*`) from
    `settings.level` and the libraries' from WARNING; the handler a previous call installed
    is replaced."""
    # What no line shows is not computed for each record (the logging HOWTO's "Optimization"):
    # the caller's frame, thread and process names; a request line costs about 10 us less.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "wmgw", False)]:
        root.removeHandler(old)
    out: Any = handler(settings)
    out.wmgw = True
    root.addHandler(out)
    root.setLevel(logging.WARNING)
    logging.getLogger("wmgw").setLevel(settings.level)
