"""The floor `make bench` measures the gateway against: a bare relay, a plain ASGI callable
that forwards each request to the fake upstream through the gateway's own HTTP client
(providers/http/client.py) and relays the answer as it arrives. No framework, no database,
no validation, no translation: what any gateway built on this client and server must spend.

    python -m uvicorn --app-dir bench relay:create_app --factory   (BENCH_UPSTREAM=http://...)
"""

from __future__ import annotations

import os
from typing import Any

from providers.http.client import HttpClient

Scope = dict[str, Any]


def create_app() -> Any:
    upstream = os.environ["BENCH_UPSTREAM"].rstrip("/")
    client = HttpClient(max_connections=4096)

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {"Content-Type": "application/json", "Authorization": "Bearer relay"}
        async with client.stream(
            "POST", upstream + scope["path"], content=body, headers=headers
        ) as answer:
            kind = answer.headers.get("content-type", "application/json").encode()
            await send(
                {"type": "http.response.start", "status": answer.status_code,
                 "headers": [(b"content-type", kind)]}
            )  # fmt: skip
            async for piece in answer.aiter_bytes():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app
