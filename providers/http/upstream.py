"""The one HTTP boundary to upstream providers: requests, SSE streams, and the mapping of
foreign failures (the HTTP client's errors, upstream statuses) onto our error tree."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson

from domain.errors import (
    Fault,
    GatewayError,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from domain.scrub import scrub
from providers import sse
from providers.http.client import (
    ConnectFailed,
    HttpClient,
    HttpError,
    TimedOut,
    TooLarge,
    Unsendable,
)

ErrorReader = Callable[[Any], tuple[str | None, str | None, str | None]]
# Request headers that carry a credential: their values are scrubbed from upstream errors.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


def _text(value: Any) -> str | None:
    """Upstreams send numbers and lists where strings belong; clients need strings."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def openai_error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, param, code) from OpenAI's `{"error": {...}}` envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return _text(error.get("message")), _text(error.get("param")), _text(error.get("code"))
    if isinstance(error, str):
        return error, None, None
    return None, None, None


def credentials(sent: Mapping[str, str] | None) -> list[str]:
    """The secrets in the headers a request went out with (the gateway's key or the user's
    own), as the upstream could repeat them."""
    found = []
    for name, value in (sent or {}).items():
        if name.lower() in CREDENTIAL_HEADERS:
            found += [value, value.partition(" ")[2].strip()]  # "Bearer <key>": the key too
    return found


def upstream_message(text: str, sent: Mapping[str, str] | None) -> str:
    """An upstream's words as a client may read them: no credential in them."""
    return scrub(text, credentials(sent))


def _seconds(value: str | None) -> float | None:
    """A non-negative number of seconds (an HTTP date, the other form of `retry-after`, is
    not used: clocks differ)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _retry_delay_ms(body: Any) -> float | None:
    """Google's `RetryInfo.retryDelay` ("37s") in an error's `details`."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1]) * 1000
            except ValueError:
                return None
    return None


def retry_headers(headers: Mapping[str, str], body: Any) -> dict[str, str]:
    """The upstream's wait as `retry-after` (whole seconds, rounded up: what every client
    reads) and `retry-after-ms` (what the OpenAI SDKs prefer), from either header or Google's
    `RetryInfo`; none when the upstream gave no wait."""
    seconds = _seconds(headers.get("retry-after"))
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is None:
        millis = seconds * 1000 if seconds is not None else _retry_delay_ms(body)
    if millis is None:
        return {}
    whole = math.ceil(seconds if seconds is not None else millis / 1000)
    return {"retry-after": str(whole), "retry-after-ms": str(int(millis))}


RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})


def status_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    read: ErrorReader = openai_error_fields,
    *,
    sent: Mapping[str, str] | None = None,
) -> GatewayError:
    """What a client should see when the upstream answered `status` to a request sent with
    the headers `sent` (whose credentials never reach the client), with what the gateway's
    retries and fallbacks need to know (`fault`; none for the caller's own mistakes)."""
    error = _status_error(status, headers, body, read, sent)
    if status >= 500 or status in (401, 402, 403, 404, 408, 429):
        wait = error.headers.get("retry-after-ms") or retry_headers(headers, None).get(
            "retry-after-ms"
        )
        error.fault = Fault(
            retryable=status in RETRYABLE_STATUSES,
            retry_after=int(wait) / 1000 if wait else None,
            status=status,
        )
    return error


def _status_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    read: ErrorReader,
    sent: Mapping[str, str] | None,
) -> GatewayError:
    try:
        parsed = json.loads(body)
        message, param, code = read(parsed)
    except (ValueError, AttributeError):
        parsed, (message, param, code) = None, (None, None, None)
    message = upstream_message(message or f"The upstream provider answered HTTP {status}.", sent)
    if status in (400, 422):
        return InvalidRequest(message, param=param, code=code)
    if status == 413:
        return PayloadTooLarge(message)
    if status == 429 and code != "insufficient_quota":
        return RateLimited(message, headers=retry_headers(headers, parsed))
    if status in (408, 504):
        return UpstreamTimeout(f"The upstream provider timed out: {message}")
    if status in (401, 403, 404):
        # Our credentials or configuration, not the caller's: never blame their key.
        return UpstreamError(f"The upstream provider refused the gateway's request: {message}")
    if status == 402:
        # The upstream account is out of credit (OpenRouter): retrying will not help.
        return UpstreamUnavailable(
            f"The upstream provider account has no credit left: {message}",
            code="upstream_insufficient_credit",
            headers={"x-should-retry": "false"},
        )
    if status in (503, 529):
        return UpstreamUnavailable(
            f"The upstream provider is overloaded or unavailable: {message}",
            headers=retry_headers(headers, parsed),
        )
    if status == 429:  # the upstream account's quota: waiting will not help
        return UpstreamUnavailable(f"The upstream provider is overloaded or unavailable: {message}")
    return UpstreamError(f"The upstream provider failed: {message}")


def transport_error(exc: HttpError) -> GatewayError:
    """The HTTP client's failure as ours: unreachable is 503, too slow is 504, anything else
    that broke the exchange is 502."""
    error: GatewayError
    if isinstance(exc, ConnectFailed):
        error = UpstreamUnavailable("The upstream provider could not be reached.")
    elif isinstance(exc, TimedOut):
        error = UpstreamTimeout("The upstream provider did not answer in time.")
    elif isinstance(exc, TooLarge):
        error = UpstreamError("The upstream provider sent an answer too large to read.")
        error.fault = Fault(retryable=False)
        return error
    elif isinstance(exc, Unsendable):
        error = UpstreamError(
            "The request to the upstream provider was not sent: a header value (such as a key) "
            "holds a line break."
        )
        error.fault = Fault(retryable=False)
        return error
    else:
        error = UpstreamError("The connection to the upstream provider failed.")
    error.fault = Fault(retryable=True)
    return error


def event_object(event: sse.Event) -> dict[str, Any]:
    """A streamed event's JSON object; anything else is the upstream's failure."""
    try:
        payload = orjson.loads(event.data)
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed stream.") from exc
    if not isinstance(payload, dict):
        raise UpstreamError("The upstream provider sent a malformed stream.")
    return payload


def json_body(body: Mapping[str, Any]) -> bytes:
    """The request body as JSON, by orjson (httpx's `json=` uses the slower stdlib encoder).
    Non-string keys or other types orjson refuses fall back to the stdlib, as `json=` would."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    if any(name.lower() == "content-type" for name in headers):
        return headers
    return {"Content-Type": "application/json", **headers}


async def post_json(
    client: HttpClient,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    read_error: ErrorReader = openai_error_fields,
) -> Any:
    try:
        response = await client.post(url, content=json_body(body), headers=json_headers(headers))
    except HttpError as exc:
        raise transport_error(exc) from exc
    if response.status_code >= 400:
        raise status_error(
            response.status_code, response.headers, response.content, read_error, sent=headers
        )
    try:
        return orjson.loads(response.content)
    except ValueError as exc:
        raise UpstreamError("The upstream provider sent a malformed response.") from exc


async def stream_events(
    client: HttpClient,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    read_error: ErrorReader = openai_error_fields,
) -> AsyncIterator[sse.Event]:
    """POST and yield the upstream's SSE events. Leaving the loop early closes the upstream
    connection, which is how a client's disconnect cancels the upstream call."""
    try:
        content, sent_headers = json_body(body), json_headers(headers)
        async with client.stream("POST", url, content=content, headers=sent_headers) as response:
            if response.status_code >= 400:
                content = await response.aread()
                raise status_error(
                    response.status_code, response.headers, content, read_error, sent=headers
                )
            async for event in sse.events(response.aiter_bytes()):
                yield event
    except HttpError as exc:
        raise transport_error(exc) from exc
