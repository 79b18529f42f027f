"""What a client sees when an upstream provider fails: statuses and transport errors mapped
onto our error tree, never blaming the caller's key, never leaking credentials."""

from __future__ import annotations

import json

import httpx
import pytest

from domain.errors import (
    GatewayError,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from providers.http.client import Broken, ConnectFailed, TimedOut, Unsendable
from providers.http.upstream import openai_error_fields, status_error, transport_error


def openai_body(message="Upstream says no.", param=None, code=None, type_="invalid_request_error"):
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    ).encode()


NO_HEADERS = httpx.Headers()


@pytest.mark.parametrize(
    ("upstream", "error_class", "status", "type_"),
    [
        (400, InvalidRequest, 400, "invalid_request_error"),
        (422, InvalidRequest, 400, "invalid_request_error"),
        (401, UpstreamError, 502, "upstream_error"),
        (403, UpstreamError, 502, "upstream_error"),
        (404, UpstreamError, 502, "upstream_error"),
        (408, UpstreamTimeout, 504, "upstream_error"),
        (413, PayloadTooLarge, 413, "invalid_request_error"),
        (429, RateLimited, 429, "rate_limit_error"),
        (500, UpstreamError, 502, "upstream_error"),
        (502, UpstreamError, 502, "upstream_error"),
        (503, UpstreamUnavailable, 503, "upstream_error"),
        (504, UpstreamTimeout, 504, "upstream_error"),
        (529, UpstreamUnavailable, 503, "upstream_error"),
        (418, UpstreamError, 502, "upstream_error"),
    ],
)
def test_upstream_status_maps_to_our_error(upstream, error_class, status, type_):
    error = status_error(upstream, NO_HEADERS, openai_body())
    assert type(error) is error_class
    assert error.status == status
    assert error.type == type_
    assert "Upstream says no." in error.message


@pytest.mark.parametrize("upstream", [400, 422])
def test_bad_request_passes_upstream_message_param_and_code_through(upstream):
    body = openai_body(
        "Invalid value for 'temperature'.", param="temperature", code="invalid_value"
    )
    error = status_error(upstream, NO_HEADERS, body)
    assert error.body() == {
        "error": {
            "message": "Invalid value for 'temperature'.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "invalid_value",
        }
    }


@pytest.mark.parametrize("upstream", [401, 403, 404])
def test_upstream_auth_and_not_found_never_blame_the_callers_key(upstream):
    body = openai_body("Incorrect API key provided.", code="invalid_api_key")
    error = status_error(upstream, NO_HEADERS, body)
    assert error.status == 502
    assert error.code == "upstream_error"
    assert error.code != "invalid_api_key"
    assert "gateway" in error.message
    assert "Incorrect API key provided." in error.message


def test_payload_too_large_keeps_the_upstream_message():
    error = status_error(413, NO_HEADERS, openai_body("Request too large."))
    assert (error.status, error.code, error.message) == (
        413,
        "request_too_large",
        "Request too large.",
    )


@pytest.mark.parametrize(
    ("headers", "retry_after", "retry_after_ms"),
    [
        pytest.param({"retry-after": "2"}, "2", "2000", id="seconds"),
        pytest.param({"Retry-After": "1.5"}, "2", "1500", id="fractional seconds, any case"),
        pytest.param({"retry-after-ms": "250"}, "1", "250", id="milliseconds, seconds rounded up"),
        pytest.param(
            {"retry-after-ms": "250", "retry-after": "9"}, "9", "250", id="each passed on as sent"
        ),
    ],
)
def test_rate_limit_is_429_with_retry_after_and_retry_after_ms(
    headers, retry_after, retry_after_ms
):
    error = status_error(
        429,
        httpx.Headers(headers),
        openai_body("Rate limit reached.", code="rate_limit_exceeded", type_="requests"),
    )
    assert type(error) is RateLimited
    assert error.status == 429
    assert error.code == "rate_limit_exceeded"
    assert error.message == "Rate limit reached."
    assert error.headers == {"retry-after": retry_after, "retry-after-ms": retry_after_ms}


def test_an_unavailable_upstream_passes_on_its_retry_after():
    error = status_error(503, httpx.Headers({"retry-after": "30"}), openai_body("Overloaded."))
    assert error.status == 503
    assert error.headers == {"retry-after": "30", "retry-after-ms": "30000"}
    assert status_error(503, NO_HEADERS, openai_body("Overloaded.")).headers == {}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no retry header"),
        pytest.param({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, id="http date"),
    ],
)
def test_rate_limit_without_usable_retry_after_has_no_header(headers):
    error = status_error(429, httpx.Headers(headers), openai_body("Slow down."))
    assert error.status == 429
    assert error.headers == {}


def test_upstream_out_of_quota_is_503_not_the_callers_quota():
    body = openai_body(
        "You exceeded your current quota.", code="insufficient_quota", type_="insufficient_quota"
    )
    error = status_error(429, httpx.Headers({"retry-after": "3"}), body)
    assert type(error) is UpstreamUnavailable
    assert error.status == 503
    assert error.code == "upstream_unavailable"
    assert error.headers == {}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>Bad Gateway</html>", id="html"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe not utf-8", id="not utf-8"),
        pytest.param(b"[1, 2]", id="json list"),
        pytest.param(b'{"detail": "nope"}', id="json without error"),
        pytest.param(b'{"error": {"code": 500}}', id="error without message"),
    ],
)
@pytest.mark.parametrize("upstream", [400, 429, 500, 503])
def test_unreadable_body_gives_a_generic_message(body, upstream):
    error = status_error(upstream, NO_HEADERS, body)
    assert f"The upstream provider answered HTTP {upstream}." in error.message


def test_string_error_is_the_message():
    error = status_error(400, NO_HEADERS, b'{"error": "model is required"}')
    assert error.message == "model is required"
    assert error.param is None


def test_non_string_upstream_message_still_gives_our_error():
    error = status_error(400, NO_HEADERS, b'{"error": {"message": ["bad", "worse"]}}')
    assert isinstance(error, InvalidRequest)
    assert isinstance(error.message, str)


KEY = "wm_v2.AAAAAAAAAAAAAAAA." + "b" * 43 + "." + "c" * 43


@pytest.mark.parametrize("upstream", [400, 401, 413, 429, 500, 503])
@pytest.mark.parametrize(
    ("message", "secret"),
    [
        pytest.param(f"Invalid key {KEY} given", "AAAAAAAAAAAAAAAA", id="our key"),
        pytest.param("Header was Bearer sk-proj-abc123XYZ", "sk-proj-abc123XYZ", id="bearer"),
    ],
)
def test_credentials_in_upstream_messages_are_redacted(upstream, message, secret):
    error = status_error(upstream, NO_HEADERS, openai_body(message))
    assert secret not in error.message
    assert secret not in json.dumps(error.body())
    assert "***" in error.message


def test_a_custom_error_reader_is_used():
    def anthropic_fields(body):
        error = body.get("error") or {}
        return error.get("message"), None, error.get("type")

    body = json.dumps(
        {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: bad"}}
    )
    error = status_error(400, NO_HEADERS, body.encode(), anthropic_fields)
    assert (error.status, error.message, error.code) == (
        400,
        "max_tokens: bad",
        "invalid_request_error",
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"error": {"message": "m", "param": "p", "code": "c", "type": "t"}}, ("m", "p", "c")),
        ({"error": {"message": "m"}}, ("m", None, None)),
        ({"error": "plain"}, ("plain", None, None)),
        ({"message": "not enveloped"}, (None, None, None)),
        ([{"error": {"message": "m"}}], (None, None, None)),
        (None, (None, None, None)),
        ("text", (None, None, None)),
    ],
)
def test_openai_error_fields(body, fields):
    assert openai_error_fields(body) == fields


@pytest.mark.parametrize(
    ("exc", "error_class", "status"),
    [
        (TimedOut("connect timed out"), UpstreamTimeout, 504),
        (TimedOut("read timed out"), UpstreamTimeout, 504),
        (ConnectFailed("connection refused"), UpstreamUnavailable, 503),
        (Broken("peer closed connection"), UpstreamError, 502),
        (Broken("connection reset"), UpstreamError, 502),
        (Unsendable("a header with a line break"), UpstreamError, 502),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_transport_errors_map_to_gateway_errors(exc, error_class, status):
    error = transport_error(exc)
    assert type(error) is error_class
    assert error.status == status
    assert error.type == "upstream_error"
    assert isinstance(error, GatewayError)
    assert str(exc) not in error.message


def test_google_retry_delay_in_the_body_becomes_retry_after_ms() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Resource exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
        }
    }
    error = status_error(429, {}, json.dumps(body).encode())
    assert error.status == 429
    assert error.headers == {"retry-after": "37", "retry-after-ms": "37000"}


def test_an_upstream_account_out_of_credit_is_503_that_clients_do_not_retry() -> None:
    body = {"error": {"code": 402, "message": "Insufficient credits"}}
    error = status_error(402, {}, json.dumps(body).encode())
    assert error.status == 503 and error.code == "upstream_insufficient_credit"
    assert "Insufficient credits" in error.message
    assert error.headers["x-should-retry"] == "false"
