"""When a request with an `Idempotency-Key` is the same request: another body, endpoint,
workspace or file under the same key is a 409, another developer key's is its own, a new
multipart boundary is not another request; a malformed key, a bad developer key or a body over
the size limit are refused before the key counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from tests.audio_samples import tone
from tests.conftest import Gateway
from tests.idempotency_helpers import ECHO, HELLO, assert_refused, counting_client, keyed, new_key

# ---- the same key for another request -------------------------------------------------------


def test_the_same_key_with_another_body_is_a_409_the_sdk_does_not_retry(
    gateway: Gateway,
) -> None:
    key = new_key()
    gateway.client().chat.completions.create(model=ECHO, messages=HELLO, extra_headers=keyed(key))
    sent: list[httpx.Request] = []
    client = counting_client(gateway, sent, max_retries=2)
    other = [{"role": "user", "content": "Something else"}]
    with pytest.raises(openai.ConflictError) as caught:
        client.chat.completions.create(model=ECHO, messages=other, extra_headers=keyed(key))
    assert_refused(caught.value.response, "idempotency_key_reused")
    assert len(sent) == 1
    assert len(gateway.ledger()) == 1


def test_the_same_key_on_another_endpoint_or_workspace_is_another_request(
    gateway: Gateway,
) -> None:
    key = new_key()
    with gateway.http() as http:
        http.post("/chat/completions", json={"model": ECHO, "messages": HELLO}, headers=keyed(key))
        elsewhere = http.post(
            "/completions", json={"model": ECHO, "prompt": "Hello"}, headers=keyed(key)
        )
        other_workspace = http.post(
            "/chat/completions",
            json={"model": ECHO, "messages": HELLO},
            headers={**keyed(key), "x-writingmate-workspace": gateway.workspace_id},
        )
    assert_refused(elsewhere, "idempotency_key_reused")
    assert_refused(other_workspace, "idempotency_key_reused")


def test_keys_belong_to_the_developer_key_that_sent_them(gateway: Gateway) -> None:
    key = new_key()
    first = gateway.client().chat.completions.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    second = gateway.client(gateway.new_key()).chat.completions.create(
        model=ECHO, messages=HELLO, extra_headers=keyed(key)
    )
    assert first.id != second.id and len(gateway.ledger()) == 2


@pytest.mark.parametrize("value", ["", "k" * 256, "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(gateway: Gateway, value: str) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions",
            json={"model": ECHO, "messages": HELLO},
            headers={"Idempotency-Key": value},
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert response.headers["x-request-id"].startswith("req_")
    assert gateway.ledger() == []


def test_a_key_with_a_bad_developer_key_is_a_plain_401(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/chat/completions",
        json={"model": ECHO, "messages": HELLO},
        headers={"Authorization": "Bearer wm_v2.nope", **keyed(new_key())},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_body_size_limit_applies_first(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(env={"WMGW_MAX_BODY_BYTES": "1000"})
    big = b'{"model": "writingmate/echo", "messages": [], "pad": "' + b"x" * 2000 + b'"}'

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield big[:500]
        yield big[500:]

    with gateway.http() as http:
        for content in (big, chunked()):
            response = http.post("/chat/completions", content=content, headers=keyed(new_key()))
            assert response.status_code == 413, response.text
            assert response.json()["error"]["code"] == "request_too_large"


# ---- multipart --------------------------------------------------------------------------------


def test_a_transcription_retried_with_a_new_multipart_boundary_is_the_same_request(
    gateway: Gateway,
) -> None:
    sent: list[httpx.Request] = []
    client, key, audio = counting_client(gateway, sent), new_key(), tone(2.5)
    answers = [
        client.audio.transcriptions.with_raw_response.create(
            model="writingmate/echo-transcribe",
            file=("tone.wav", audio, "audio/wav"),
            extra_headers=keyed(key),
        )
        for _ in range(2)
    ]
    boundaries = {request.headers["content-type"] for request in sent}
    assert len(boundaries) == 2
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert answers[1].parse().text == answers[0].parse().text
    assert len(gateway.ledger()) == 1


def test_another_file_under_the_same_key_is_a_409(gateway: Gateway) -> None:
    client, key = gateway.client(), new_key()
    for seconds, fails in ((2.5, False), (3.0, True)):
        call = client.audio.transcriptions.create
        if not fails:
            call(model="writingmate/echo-transcribe", file=tone(seconds), extra_headers=keyed(key))
            continue
        with pytest.raises(openai.ConflictError):
            call(model="writingmate/echo-transcribe", file=tone(seconds), extra_headers=keyed(key))
