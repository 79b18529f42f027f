"""The one place that reaches into aiohttp's internals, for the version below only.

A body delimited by the end of the connection (no length, not chunked) ends when the server
closes. aiohttp 3.14 also ends it, as complete, when the connection is *reset*, losing the
error: a cut answer passed for a whole one. Here the protocol records the reset on the body
being read before aiohttp ends it, so reading it raises. (A body with a length or in chunks
is already an error when cut.) tests/test_http_client_failures.py holds it to that, and
`check_version` refuses an aiohttp this was not written for (tests/test_http_client_setup.py).
"""

from __future__ import annotations

import functools
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

WRITTEN_FOR = "3.14."


def check_version() -> None:
    if not aiohttp.__version__.startswith(WRITTEN_FOR):
        raise RuntimeError(
            f"providers/http/aiohttp_compat.py was written for aiohttp {WRITTEN_FOR}x, "
            f"not {aiohttp.__version__}: check what it patches, then update WRITTEN_FOR"
        )


class _ResetAwareHandler(ResponseHandler):
    def connection_lost(self, exc: BaseException | None) -> None:
        body = self._payload  # the body being read, if any (aiohttp's own attribute)
        if exc is not None and body is not None and not body.is_eof():
            body.set_exception(
                aiohttp.ClientPayloadError(f"Connection lost before the end of the body: {exc!r}")
            )
        super().connection_lost(exc)


class Connector(aiohttp.TCPConnector):
    """aiohttp's TCP connector, whose connections use the handler above."""

    def __init__(self, **options: Any) -> None:
        check_version()
        super().__init__(**options)
        self._factory = functools.partial(_ResetAwareHandler, loop=self._loop)  # type: ignore[assignment]
