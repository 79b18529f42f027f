"""How Google's front end frames the fake Gemini upstream's responses over raw ASGI:
pretty-printed JSON bodies, and streams of ``data: {...}`` events separated by CRLF, with no
``event:`` lines and no ``[DONE]``."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"content-disposition", b"attachment"),
    (b"vary", b"Origin, X-Origin, Referer"),
    (b"x-content-type-options", b"nosniff"),
    (b"server", b"scaffolding on HTTPServer2"),
]


async def send_json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload, indent=2).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin, X-Origin, Referer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def start_event_stream(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": list(_STREAM_HEADERS)})


async def send_event(send: Send, payload: Any) -> None:
    data = json.dumps(payload, separators=(",", ":"))
    await send(
        {"type": "http.response.body", "body": f"data: {data}\r\n\r\n".encode(), "more_body": True}
    )


async def send_bare_error(send: Send, error: Any) -> None:
    """An error as Gemini really ends a failing stream: pretty-printed JSON, no `data:` framing."""
    body = json.dumps(error, indent=2).encode() + b"\n"
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def end_stream(send: Send) -> None:
    await send({"type": "http.response.body", "body": b"", "more_body": False})
