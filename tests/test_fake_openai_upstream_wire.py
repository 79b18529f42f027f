"""The fake OpenAI upstream's raw wire format, checked without the SDK's leniency: its SSE framing
and errors, and its bodies against the official schemas in
``tests/fixtures/openai-openapi-subset.yaml`` (a subset of OpenAI's published spec).
Fixtures: tests/fake_openai_upstream_helpers.py."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_openai_upstream_helpers import API_KEY, MODEL, TIME_TOOL, USER, WEATHER_TOOL
from tests.fakes.openai_upstream import FakeOpenAIUpstream

SPEC = Path(__file__).parent / "fixtures" / "openai-openapi-subset.yaml"


# ---------------------------------------------------------------------------------------------
# Raw wire format, checked without the SDK's leniency.
# ---------------------------------------------------------------------------------------------


def _events(text: str) -> list[str]:
    assert text.endswith("\n\n")
    frames = text[:-2].split("\n\n")
    assert all(f.startswith("data: ") and "\n" not in f for f in frames)
    return [f.removeprefix("data: ") for f in frames]


def test_raw_sse_framing_and_tool_call_deltas(fake: FakeOpenAIUpstream, base_url: str) -> None:
    fake.reply(tool_calls=[("get_weather", '{"city": "Paris"}'), ("get_time", "{}")])
    body = {"model": MODEL, "messages": USER, "tools": [WEATHER_TOOL, TIME_TOOL], "stream": True}
    response = httpx.post(
        f"{base_url}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-request-id"].startswith("req_")
    events = _events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert all("index" in d and "function" in d for d in deltas)
    for index, name in [(0, "get_weather"), (1, "get_time")]:
        mine = [d for d in deltas if d["index"] == index]
        assert mine[0]["id"].startswith("call_") and mine[0]["type"] == "function"
        assert mine[0]["function"] == {"name": name, "arguments": ""}
        assert all(set(d) == {"index", "function"} for d in mine[1:])
    assert "".join(d["function"]["arguments"] for d in deltas if d["index"] == 0) == (
        '{"city": "Paris"}'
    )
    assert len([d for d in deltas if d["index"] == 0]) >= 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_raw_errors(fake: FakeOpenAIUpstream, base_url: str) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    missing = httpx.get(f"{base_url}/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key")

    malformed = httpx.post(
        f"{base_url}/chat/completions",
        content=b'{"model": ',
        headers={**auth, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/json"
    assert malformed.json()["error"]["type"] == "invalid_request_error"
    assert "could not parse the JSON body" in malformed.json()["error"]["message"]

    unknown = httpx.get(f"{base_url}/nothing-here", headers=auth)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/nothing-here)"
    assert [r.path for r in fake.requests] == [
        "/v1/models",
        "/v1/chat/completions",
        "/v1/nothing-here",
    ]


# ---------------------------------------------------------------------------------------------
# Official schemas (openai-openapi-subset.yaml).
# ---------------------------------------------------------------------------------------------


def _fix_nullable(node: Any) -> Any:
    """Turn OAS 3.0 ``nullable: true`` (ignored by JSON Schema 2020-12) into ``anyOf [..null]``."""
    if isinstance(node, list):
        return [_fix_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _fix_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [fixed, {"type": "null"}]}
    return fixed


@cache
def _registry() -> Any:
    referencing = pytest.importorskip("referencing")
    drafts = pytest.importorskip("referencing.jsonschema")
    yaml = pytest.importorskip("yaml")
    if not SPEC.exists():
        pytest.skip(f"{SPEC} not available")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = _fix_nullable(yaml.load(SPEC.read_text(), Loader=loader))
    resource = referencing.Resource.from_contents(
        document, default_specification=drafts.DRAFT202012
    )
    return referencing.Registry().with_resource("urn:openai", resource)


@cache
def _validator(schema_name: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    registry = _registry()
    schema = {"$ref": f"urn:openai#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _assert_valid(schema_name: str, instance: Any) -> None:
    errors = [e.message for e in _validator(schema_name).iter_errors(instance)]
    assert not errors, f"{schema_name}: {errors}"


def test_bodies_match_official_schemas(fake: FakeOpenAIUpstream, base_url: str) -> None:
    assert not _validator("ErrorResponse").is_valid({"error": {"message": "no type/param/code"}})
    assert not _validator("CreateChatCompletionStreamResponse").is_valid({"id": "x"})
    auth = {"Authorization": f"Bearer {API_KEY}"}
    _assert_valid("ListModelsResponse", httpx.get(f"{base_url}/models", headers=auth).json())
    _assert_valid("Model", httpx.get(f"{base_url}/models/gpt-4o", headers=auth).json())
    _assert_valid("ErrorResponse", httpx.get(f"{base_url}/models/x", headers=auth).json())
    _assert_valid("ErrorResponse", httpx.get(f"{base_url}/models").json())

    fake.reply("plain text")
    fake.reply(tool_calls=[("get_weather", '{"city": "Paris"}')])
    fake.fail(429)
    for _ in range(3):
        response = httpx.post(
            f"{base_url}/chat/completions",
            json={"model": MODEL, "messages": USER, "tools": [WEATHER_TOOL]},
            headers=auth,
        )
        name = "CreateChatCompletionResponse" if response.is_success else "ErrorResponse"
        _assert_valid(name, response.json())

    fake.reply("streamed text")
    fake.reply(tool_calls=[("get_weather", '{"city": "Paris"}'), ("get_time", "{}")])
    for _ in range(2):
        response = httpx.post(
            f"{base_url}/chat/completions",
            json={
                "model": MODEL,
                "messages": USER,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            headers=auth,
        )
        for event in _events(response.text)[:-1]:
            _assert_valid("CreateChatCompletionStreamResponse", json.loads(event))
