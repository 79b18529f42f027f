"""The rules of `Idempotency-Key` (domain/idempotency.py): which keys are well formed, which
requests are the same one, which answers are kept, and what a request finding its key used
does."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from domain.idempotency import (
    DONE,
    INTERRUPTED,
    RUNNING,
    TOO_LARGE,
    Seen,
    Verdict,
    fingerprint,
    is_replayable,
    parse_key,
    refusal,
    verdict,
)

NOW = 1_800_000_000_000
FP = "f" * 64


def multipart(boundary: str) -> tuple[bytes, bytes]:
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    return f"multipart/form-data; boundary={boundary}".encode(), body


def print_of(
    content_type: bytes,
    body: bytes,
    method: str = "POST",
    path: str = "/api/openai/v1/x",
    query: bytes = b"",
    workspace: bytes = b"",
) -> str:
    return fingerprint(method, path, query, workspace, content_type, body)


@pytest.mark.parametrize("key", ["a", "k" * 255, "5f0c1f3e-8a7b-4c2d", "with space", "~!@#$%"])
def test_printable_ascii_keys_up_to_255_characters_are_accepted(key: str) -> None:
    assert parse_key(key.encode()) == key


@pytest.mark.parametrize("raw", [b"", b"k" * 256, b"tab\there", b"caf\xc3\xa9", b"nul\x00"])
def test_other_keys_are_a_400_naming_the_header(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_key(raw)
    assert caught.value.param == "Idempotency-Key"


def test_a_multipart_body_is_the_same_request_whatever_its_boundary() -> None:
    first, second = multipart("a1b2c3"), multipart("ffee99887766")
    assert first[1] != second[1]
    assert print_of(*first) == print_of(*second)


def test_a_quoted_boundary_is_replaced_too() -> None:
    content_type, body = multipart("xyz")
    quoted = content_type.replace(b"=xyz", b'="xyz"')
    assert print_of(quoted, body) == print_of(*multipart("other"))


def test_a_json_body_is_compared_byte_for_byte() -> None:
    json = b"application/json"
    assert print_of(json, b'{"a": 1}') != print_of(json, b'{"a":1}')


@pytest.mark.parametrize(
    "other",
    [
        {"method": "PUT"},
        {"path": "/api/openai/v1/y"},
        {"query": b"a=1"},
        {"workspace": b"ws_2"},
    ],
)
def test_method_path_query_and_workspace_make_another_request(other: dict[str, Any]) -> None:
    json = b"application/json"
    assert print_of(json, b"{}") != print_of(json, b"{}", **other)


def test_parts_cannot_slide_into_one_another() -> None:
    json = b"application/json"
    assert print_of(json, b"", query=b"ab", workspace=b"c") != print_of(
        json, b"", query=b"a", workspace=b"bc"
    )


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 413, 415, 422])
def test_successes_and_deterministic_client_errors_are_kept(status: int) -> None:
    assert is_replayable(status)


@pytest.mark.parametrize("status", [101, 302, 408, 409, 429, 499, 500, 502, 503, 504])
def test_answers_a_retry_could_change_are_not_kept(status: int) -> None:
    assert not is_replayable(status)


def seen(state: str = RUNNING, **changes: object) -> Seen:
    fields = {
        "state": state,
        "fingerprint": FP,
        "owner": "1:ab:host",
        "lease_until": NOW + 1000 if state == RUNNING else None,
        "expires_at": NOW + 3_600_000,
    }
    fields.update(changes)
    return Seen(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (seen(), Verdict.WAIT),
        (seen(lease_until=NOW), Verdict.TAKE),
        (seen(lease_until=None), Verdict.TAKE),
        (seen(DONE), Verdict.REPLAY),
        (seen(INTERRUPTED), Verdict.INTERRUPTED),
        (seen(TOO_LARGE), Verdict.TOO_LARGE),
        (seen(DONE, fingerprint="0" * 64), Verdict.REUSED),
        (seen(RUNNING, fingerprint="0" * 64, lease_until=NOW - 1), Verdict.REUSED),
        (seen(DONE, expires_at=NOW), Verdict.TAKE),
        (seen(DONE, fingerprint="0" * 64, expires_at=NOW - 1), Verdict.TAKE),
    ],
)
def test_what_a_request_does_about_the_row_its_key_has(row: Seen, expected: Verdict) -> None:
    assert verdict(row, FP, NOW) is expected


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Verdict.REUSED, "idempotency_key_reused"),
        (Verdict.INTERRUPTED, "idempotency_key_interrupted"),
        (Verdict.TOO_LARGE, "idempotency_response_too_large"),
    ],
)
def test_refusals_are_409s_the_sdks_do_not_retry(outcome: Verdict, code: str) -> None:
    error = refusal(outcome)
    assert (error.status, error.code, error.param) == (409, code, "Idempotency-Key")
    assert error.headers == {"x-should-retry": "false"}
    assert "new key" in error.message
