"""HTTP for image providers: bodies of several megabytes of base64 are parsed off the event
loop, and generated files are fetched from the URLs upstreams answer with (never handed out:
they vanish). Failures map through providers/http/upstream.py like every other upstream call."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import orjson

from domain.errors import GatewayError, UpstreamError
from domain.fetch_rules import FetchAllow
from providers.base import GeneratedImage
from providers.http import outbound, upstream
from providers.http.client import HttpClient, HttpError, Response

T = TypeVar("T")
MAX_IMAGE_BYTES = 64 * 1024 * 1024


async def _json_of(response: Response) -> Any:
    try:
        return await anyio.to_thread.run_sync(orjson.loads, response.content)
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc


async def request_json(
    client: HttpClient,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None = None,
    read_error: upstream.ErrorReader = upstream.openai_error_fields,
) -> tuple[Response, Any]:
    """The response and its parsed JSON body; an HTTP error status raises the mapped error."""
    try:
        response = await client.request(method, url, json=body, headers=headers)
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    if response.status_code >= 400:
        raise upstream.status_error(
            response.status_code, response.headers, response.content, read_error, sent=headers
        )
    return response, await _json_of(response)


def media_type_of(url: str, content_type: str | None) -> str:
    """The image's media type: the response's, else guessed from the URL's extension."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared.startswith("image/"):
        return declared
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed if guessed and guessed.startswith("image/") else "image/png"


async def fetch_image(url: str, allow: FetchAllow) -> GeneratedImage:
    """Download a generated image (no credentials are sent: the URL is the upstream's link),
    only from a public address or one the operator allows (providers/http/outbound.py)."""
    try:
        async with outbound.get(url, allow) as response:
            if response.status_code >= 400:
                raise UpstreamError(
                    f"The upstream provider's image could not be fetched (HTTP "
                    f"{response.status_code})."
                )
            data = bytearray()
            async for part in response.aiter_bytes():
                data += part
                if len(data) > MAX_IMAGE_BYTES:
                    raise UpstreamError("The upstream provider's image is too large.")
            media_type = media_type_of(url, response.headers.get("content-type"))
    except HttpError as exc:
        raise upstream.transport_error(exc) from exc
    return GeneratedImage(bytes(data), media_type)


async def gather(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the calls concurrently; their results in order. The first failure cancels the
    others and is raised as itself (not wrapped in an exception group)."""
    results: dict[int, T] = {}

    async def run(index: int, call: Callable[[], Awaitable[T]]) -> None:
        results[index] = await call()

    try:
        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(run, index, call)
    except BaseExceptionGroup as failures:
        raise _first_error(failures) from None
    return [results[index] for index in range(len(calls))]


def _first_error(failures: BaseExceptionGroup) -> BaseException:
    for failure in failures.exceptions:
        if isinstance(failure, BaseExceptionGroup):
            return _first_error(failure)
        if isinstance(failure, GatewayError):
            return failure
    return failures
