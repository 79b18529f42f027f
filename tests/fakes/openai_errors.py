"""OpenAI's error responses, for the fake OpenAI upstream and the fakes built on it: the
``ErrorResponse`` bodies (``{"error": {message, type, param, code}}``, all four always present),
the ``x-ratelimit-*`` headers of a 429, and the failures tests script with ``fake.fail``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .openai_exchange import Exchange

JSON = dict[str, Any]


def openai_error(
    message: str, type: str = "invalid_request_error", param: str | None = None, code: Any = None
) -> JSON:
    """Build OpenAI's error envelope ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid_api_key_error(key: str) -> JSON:
    """401 body OpenAI sends for a wrong key, masked like OpenAI does (``sk-***wxyz``)."""
    masked = key if len(key) <= 8 else f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"
    return openai_error(
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def missing_api_key_error() -> JSON:
    """401 body OpenAI sends when there is no ``Authorization: Bearer`` header at all."""
    return openai_error(
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
        "(with blank username) if you're accessing the API from your browser and are prompted for "
        "a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
    )


def model_not_found_error(model: str) -> JSON:
    """404 body of ``GET /v1/models/{model}`` for an unknown id."""
    return openai_error(
        f"The model '{model}' does not exist", param="model", code="model_not_found"
    )


def rate_limit_error(
    model: str = "gpt-4o-mini", *, kind: str = "requests", limit: int = 500
) -> JSON:
    """429 body for an RPM (``kind="requests"``) or TPM (``kind="tokens"``) limit."""
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    return openai_error(
        f"Rate limit reached for {model} in organization org-fake on {unit}: Limit {limit}, "
        f"Used {limit}, Requested 1. Please try again in 120ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        type=kind,
        code="rate_limit_exceeded",
    )


def insufficient_quota_error() -> JSON:
    """429 body when the account is out of credit (must not be retried)."""
    return openai_error(
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def server_error() -> JSON:
    """500 body."""
    return openai_error(
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def overloaded_error() -> JSON:
    """503 body."""
    return openai_error(
        "The engine is currently overloaded, please try again later", type="server_error"
    )


PARSE_ERROR = openai_error(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
    "help center at help.openai.com.)"
)


def rate_limit_headers(*, remaining_requests: int = 0, retry_after: int = 1) -> dict[str, str]:
    """OpenAI's ``x-ratelimit-*`` headers plus ``retry-after``/``retry-after-ms`` as on a 429."""
    return {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-requests": str(remaining_requests),
        "x-ratelimit-remaining-tokens": "29972",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-reset-tokens": "56ms",
        "retry-after": str(retry_after),
        "retry-after-ms": "120",
    }


def default_failure_body(status: int, model: str) -> JSON:
    """The body OpenAI sends for ``status`` when a test does not give one."""
    if status == 401:
        return invalid_api_key_error("sk-wrong-key")
    if status == 403:
        return openai_error(
            "Country, region, or territory not supported",
            type="request_forbidden",
            code="unsupported_country_region_territory",
        )
    if status == 404:
        return openai_error(
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    if status == 429:
        return rate_limit_error(model)
    if status == 502:  # Cloudflare in front of OpenAI: numeric code
        return openai_error("Bad gateway.", type="cf_bad_gateway", code=502)
    if status == 503:
        return overloaded_error()
    if status >= 500:
        return server_error()
    return openai_error("Invalid request.")


@dataclass(frozen=True)
class Failure:
    """A canned error response (``fake.fail``); a str/bytes body is sent verbatim."""

    status: int
    body: JSON | str | bytes | None = None
    headers: Mapping[str, str] | None = None
    content_type: str | None = None


async def send_failure(failure: Failure, model: str, exchange: Exchange) -> None:
    """Answer with ``failure``: its body, or else OpenAI's body for its status and ``model``."""
    body = failure.body if failure.body is not None else default_failure_body(failure.status, model)
    if isinstance(body, dict):
        await exchange.json(failure.status, body, failure.headers)
        return
    raw = body.encode() if isinstance(body, str) else body
    content_type = failure.content_type or "text/plain; charset=utf-8"
    await exchange.body(failure.status, raw, content_type, failure.headers)
