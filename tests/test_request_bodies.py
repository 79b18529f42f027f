"""Every request body the gateway cannot take gets OpenAI's error envelope with the right
status, before admission (so it is never charged), and never a 500: JSON nested too deep,
invalid Unicode, numbers out of OpenAI's ranges, bodies over their operation's limit. Bodies
sent chunked (no Content-Length) are read like any other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from connexion.json_schema import resolve_refs

from gateway.settings import Settings
from tests.audio_samples import tone
from tests.conftest import Gateway
from web import body_limits
from web.integer_fields import integer_fields
from web.json_body import MAX_DEPTH

ECHO = "writingmate/echo"
HELLO = [{"role": "user", "content": "Hello!"}]
JSON_HEADERS = {"Content-Type": "application/json"}
ENVELOPE = {"message", "type", "param", "code"}
MB = 1024 * 1024

# Every operation taking a JSON body, with a body it would accept.
JSON_OPERATIONS = {
    "/chat/completions": {"model": ECHO, "messages": HELLO},
    "/completions": {"model": ECHO, "prompt": "Hello!"},
    "/responses": {"model": ECHO, "input": "Hello!"},
    "/embeddings": {"model": "writingmate/echo-embed", "input": "Hello!"},
    "/images/generations": {"model": "writingmate/echo-image", "prompt": "An otter"},
    "/videos": {"model": "writingmate/echo-video", "prompt": "An otter"},
}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == ENVELOPE
    return error


def nested(levels: int) -> bytes:
    """A JSON array nested `levels` deep."""
    return b"[" * levels + b"]" * levels


def with_field(body: dict[str, Any], name: str, raw_value: bytes) -> bytes:
    """`body` as JSON with one more field written as given (bytes json.dumps cannot make)."""
    return json.dumps(body).encode()[:-1] + b', "' + name.encode() + b'": ' + raw_value + b"}"


# ---- nesting --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(JSON_OPERATIONS))
def test_json_nested_100000_deep_is_400_on_every_json_endpoint(gateway: Gateway, path: str) -> None:
    raw = with_field(JSON_OPERATIONS[path], "deep", nested(100_000))
    with gateway.http() as http:
        response = http.post(path, content=raw, headers=JSON_HEADERS)
    error = error_of(response, 400)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json")
    assert f"nested more than {MAX_DEPTH} levels" in error["message"]
    assert gateway.ledger() == []


@pytest.mark.parametrize(
    "raw_value",
    [
        pytest.param(nested(MAX_DEPTH), id="past the limit, within orjson's"),
        pytest.param(nested(MAX_DEPTH) + b', "nan": NaN', id="past the limit, stdlib parse"),
    ],
)
def test_one_level_past_the_limit_is_refused(gateway: Gateway, raw_value: bytes) -> None:
    raw = with_field(JSON_OPERATIONS["/chat/completions"], "deep", raw_value)  # the body is 1
    with gateway.http() as http:
        response = http.post("/chat/completions", content=raw, headers=JSON_HEADERS)
    assert error_of(response, 400)["code"] == "invalid_json"


def test_nesting_up_to_the_limit_is_accepted(gateway: Gateway) -> None:
    raw = with_field(JSON_OPERATIONS["/chat/completions"], "deep", nested(MAX_DEPTH - 1))
    with gateway.http() as http:
        response = http.post("/chat/completions", content=raw, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello!"


# ---- Unicode --------------------------------------------------------------------------------

LONE = rb'[{"role": "user", "content": "Hello \ud800 there"}]'


@pytest.mark.parametrize("stream", [False, True])
def test_a_lone_surrogate_is_400_naming_the_field_and_costs_nothing(
    gateway: Gateway, stream: bool
) -> None:
    raw = with_field({"model": ECHO, "stream": stream}, "messages", LONE)
    with gateway.http() as http:
        response = http.post("/chat/completions", content=raw, headers=JSON_HEADERS)
    error = error_of(response, 400)  # a JSON error, not a stream cut short
    assert (error["param"], error["code"]) == ("messages[0].content", "invalid_unicode")
    assert gateway.ledger() == []


def test_a_lone_surrogate_anywhere_is_named(gateway: Gateway) -> None:
    raw = with_field({"model": ECHO, "messages": HELLO}, "metadata", rb'{"note": "\udc00"}')
    with gateway.http() as http:
        response = http.post("/chat/completions", content=raw, headers=JSON_HEADERS)
    assert error_of(response, 400)["param"] == "metadata.note"


def test_a_surrogate_pair_is_a_character_and_accepted(gateway: Gateway) -> None:
    pair = rb'[{"role": "user", "content": "Otter \ud83e\udda6"}]'
    raw = with_field({"model": ECHO}, "messages", pair)
    with gateway.http() as http:
        response = http.post("/chat/completions", content=raw, headers=JSON_HEADERS)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Otter \U0001f9a6"


# ---- chunked bodies and limits --------------------------------------------------------------


def in_pieces(raw: bytes, size: int = 7) -> Iterator[bytes]:
    """The body as httpx sends a generator: chunked, without Content-Length."""
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def test_a_chunked_json_body_is_accepted(gateway: Gateway) -> None:
    raw = json.dumps({"model": ECHO, "messages": HELLO}).encode()
    with gateway.http() as http:
        response = http.post("/chat/completions", content=in_pieces(raw), headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello!"


def test_an_empty_chunked_body_is_400_in_the_envelope(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post("/chat/completions", content=iter([b""]), headers=JSON_HEADERS)
    assert error_of(response, 400)["code"] == "invalid_json"


def test_a_chunked_multipart_body_is_accepted(gateway: Gateway) -> None:
    boundary = "b0undary"
    raw = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'
            "writingmate/echo-transcribe\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + tone(1.0)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            content=in_pieces(raw, 1000),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == 200, response.text
    assert "1.00 seconds of WAV audio" in response.json()["text"]


def test_a_40_mb_chunked_body_is_413_while_reading(gateway: Gateway) -> None:
    head = json.dumps({"model": ECHO, "messages": HELLO}).encode()[:-1] + b', "pad": "'

    def forty_megabytes() -> Iterator[bytes]:
        yield head
        for _ in range(40):
            yield b"x" * MB
        yield b'"}'

    with gateway.http() as http:
        response = http.post("/chat/completions", content=forty_megabytes(), headers=JSON_HEADERS)
    error = error_of(response, 413)
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_too_large")
    assert gateway.ledger() == []


def test_the_spec_gives_each_operation_its_body_limit() -> None:
    limits = body_limits.from_file(Settings.from_env({}).spec_path)
    assert limits == {
        ("POST", "/api/openai/v1/images/generations"): MB,
        ("POST", "/api/openai/v1/audio/transcriptions"): 26 * MB,  # the 25 MB file and fields
        ("POST", "/api/openai/v1/videos"): 21 * MB,  # the 20 MB reference and fields
    }  # chat, completions, responses and embeddings: WMGW_MAX_BODY_BYTES


@pytest.mark.parametrize("chunked", [False, True])
def test_an_operation_refuses_bodies_over_its_own_limit(gateway: Gateway, chunked: bool) -> None:
    image = {"model": "writingmate/echo-image", "prompt": "An otter", "pad": "x" * MB}
    raw = json.dumps(image).encode()
    with gateway.http() as http:
        content = in_pieces(raw, 64 * 1024) if chunked else raw
        refused = http.post("/images/generations", content=content, headers=JSON_HEADERS)
        chat = {"model": ECHO, "messages": HELLO, "pad": "x" * MB}  # the global limit: 32 MB
        accepted = http.post("/chat/completions", json=chat)
    error = error_of(refused, 413)
    assert error["code"] == "request_too_large" and str(MB) in error["message"]
    assert accepted.status_code == 200
    assert [row["endpoint"] for row in gateway.ledger()] == ["chat.completions"]


# ---- numeric ranges -------------------------------------------------------------------------

OUT_OF_RANGE = [
    ("/chat/completions", {"max_tokens": -1}, "max_tokens"),
    ("/chat/completions", {"max_tokens": 0}, "max_tokens"),
    ("/chat/completions", {"max_tokens": 2**31}, "max_tokens"),
    ("/chat/completions", {"max_tokens": 10**30}, "max_tokens"),  # past 64 bits: was a 500
    ("/chat/completions", {"max_tokens": 2.5}, "max_tokens"),
    ("/chat/completions", {"seed": 2**63}, "seed"),
    ("/chat/completions", {"max_completion_tokens": 0}, "max_completion_tokens"),
    ("/chat/completions", {"n": 0}, "n"),
    ("/chat/completions", {"n": 129}, "n"),
    ("/chat/completions", {"temperature": 2.5}, "temperature"),
    ("/chat/completions", {"top_p": -0.1}, "top_p"),
    ("/chat/completions", {"presence_penalty": -2.5}, "presence_penalty"),
    ("/chat/completions", {"frequency_penalty": 2.5}, "frequency_penalty"),
    ("/chat/completions", {"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ("/chat/completions", {"logit_bias": {"50256": 101}}, "logit_bias.50256"),
    ("/completions", {"max_tokens": -1}, "max_tokens"),
    ("/completions", {"max_tokens": 10**30}, "max_tokens"),
    ("/completions", {"n": 0}, "n"),
    ("/completions", {"best_of": 0}, "best_of"),
    ("/completions", {"best_of": 21}, "best_of"),
    ("/completions", {"logprobs": 6}, "logprobs"),
    ("/completions", {"temperature": -1}, "temperature"),
    ("/completions", {"logit_bias": {"50256": -101}}, "logit_bias.50256"),
    ("/responses", {"max_output_tokens": -1}, "max_output_tokens"),
    ("/responses", {"max_output_tokens": 15}, "max_output_tokens"),
    ("/responses", {"temperature": 2.1}, "temperature"),
    ("/responses", {"top_p": 1.1}, "top_p"),
    ("/responses", {"top_logprobs": 21}, "top_logprobs"),
    ("/embeddings", {"dimensions": 0}, "dimensions"),
    ("/images/generations", {"n": 0}, "n"),
    ("/images/generations", {"n": 11}, "n"),
]


@pytest.mark.parametrize(
    ("path", "values", "param"), OUT_OF_RANGE, ids=[f"{p}:{param}" for p, _, param in OUT_OF_RANGE]
)
def test_numbers_out_of_openais_ranges_are_400_naming_the_param(
    gateway: Gateway, path: str, values: dict[str, Any], param: str
) -> None:
    with gateway.http() as http:
        response = http.post(path, json={**JSON_OPERATIONS[path], **values})
    error = error_of(response, 400)
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        param,
        "invalid_value",
    )
    assert gateway.ledger() == []


def test_a_transcription_temperature_above_1_is_400_naming_it(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/audio/transcriptions",
            data={"model": "writingmate/echo-transcribe", "temperature": "1.5"},
            files={"file": ("a.wav", tone(0.5), "audio/wav")},
        )
    assert error_of(response, 400)["param"] == "temperature"


def test_the_bounds_themselves_are_accepted(gateway: Gateway) -> None:
    with gateway.http() as http:
        chat = http.post(
            "/chat/completions",
            json={**JSON_OPERATIONS["/chat/completions"], "max_tokens": 1, "temperature": 2},
        )
        legacy = http.post(
            "/completions",
            json={**JSON_OPERATIONS["/completions"], "max_tokens": 0, "echo": True},
        )
    assert chat.status_code == 200, chat.text
    assert legacy.status_code == 200, legacy.text
    assert legacy.json()["choices"][0]["text"] == "Hello!"


def test_integers_written_as_decimals_are_those_integers(gateway: Gateway) -> None:
    """JSON Schema, and so the spec, counts `2.0` and `1e3` as integers: validation let them
    through, and the code that counts or indexes with them failed (a 500)."""
    chat = {"model": ECHO, "messages": [{"role": "user", "content": "one two three"}]}
    with gateway.http() as http:
        cut = http.post(
            "/chat/completions", json={**chat, "max_tokens": 2.0, "n": 2.0, "seed": 1e3}
        )
        streamed = http.post(
            "/chat/completions",
            content=json.dumps({**chat, "stream": True})[:-1].encode() + b', "max_tokens": 2e0}',
            headers=JSON_HEADERS,
        )
        tokens = http.post("/completions", json={"model": ECHO, "prompt": [[1.0, 2.0]]})
        biased = http.post("/chat/completions", json={**chat, "logit_bias": {"50256": 5.0}})
    assert cut.status_code == 200, cut.text
    assert [c["message"]["content"] for c in cut.json()["choices"]] == ["one two"] * 2
    assert streamed.status_code == 200 and "data: [DONE]" in streamed.text
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["choices"][0]["text"] == "1 2"
    assert biased.status_code == 200, biased.text


def integer_paths(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where a request schema holds integers: property names, `[]` for items, `{}` for map
    values (a resolved schema; alternatives are followed, not counted)."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):
        yield path
    for name, part in (schema.get("properties") or {}).items():
        yield from integer_paths(part, (*path, name))
    yield from integer_paths(schema.get("items"), (*path, "[]"))
    yield from integer_paths(schema.get("additionalProperties"), (*path, "{}"))
    for keyword in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(keyword) or []:
            yield from integer_paths(part, path)


def test_integers_are_only_where_decimals_are_looked_for() -> None:
    """web/integer_fields.py looks at top-level fields, their arrays (two deep) and their
    maps: an integer anywhere else in a request would let `2.0` through again."""
    spec = yaml.safe_load(Settings.from_env({}).spec_path.read_text())
    schemas = resolve_refs(spec)["components"]["schemas"]
    for name in (
        "CreateChatCompletionRequest",
        "CreateCompletionRequest",
        "CreateResponseRequest",
        "CreateEmbeddingRequest",
        "CreateImageRequest",
    ):
        paths = set(integer_paths(schemas[name]))
        assert paths, name
        for path in paths:
            assert len(path) <= 3 and all(part in ("[]", "{}") for part in path[1:]), (name, path)
        assert {path[0] for path in paths} == integer_fields(schemas[name])
