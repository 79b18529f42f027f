"""Every answer of the gateway is valid for OpenAI's own schemas (tests/fixtures/
openai-openapi-subset.yaml): chat completions and their chunks, completions, responses and
their events, embeddings, images. So a field OpenAI types as a plain string (a chat answer's
`system_fingerprint`, an image's `revised_prompt`) is left out when unknown, never sent as
null, which typed clients (generated ones, the SDKs in strict languages) refuse.

OpenAI's file still marks some fields `nullable: true`, which JSON Schema 2020-12 ignores; here
they are read as OpenAI means them (null allowed there and only there)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import Gateway

OPENAI_SPEC = Path(__file__).parent / "fixtures" / "openai-openapi-subset.yaml"
ECHO = "writingmate/echo"
HELLO = [{"role": "user", "content": "Hello there, friend!"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CALLS_WEATHER = [{"role": "user", "content": 'get_weather {"city": "Paris"}'}]


def honour_nullable(node: Any) -> None:
    """OpenAPI 3.0's `nullable: true`, as 2020-12: null allowed besides the schema."""
    if isinstance(node, list):
        for item in node:
            honour_nullable(item)
    if not isinstance(node, dict):
        return
    for value in node.values():
        honour_nullable(value)
    if node.pop("nullable", False):
        inner = dict(node)
        node.clear()
        node["anyOf"] = [inner, {"type": "null"}]


@cache
def openai_components() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    components = yaml.load(OPENAI_SPEC.read_text(), Loader=loader)["components"]
    honour_nullable(components)
    return components


def openai_errors(schema: str, answer: Any) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": openai_components()}
    )
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(answer)]


@pytest.fixture(scope="module")
def gw(module_gateway: Gateway) -> Gateway:
    return module_gateway


def post(gw: Gateway, path: str, body: dict[str, Any]) -> Any:
    with gw.http() as http:
        response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def events(gw: Gateway, path: str, body: dict[str, Any]) -> list[Any]:
    """The JSON of each `data:` line of a streamed answer."""
    with gw.http() as http:
        response = http.post(path, json={**body, "stream": True})
    assert response.status_code == 200, response.text
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


ANSWERS = {
    "chat completion": (
        "/chat/completions",
        {"model": ECHO, "messages": HELLO},
        "CreateChatCompletionResponse",
    ),
    "chat completion from OpenAI": (
        "/chat/completions",
        {"model": "openai/gpt-5-mini", "messages": HELLO},
        "CreateChatCompletionResponse",
    ),
    "chat completion calling a tool": (
        "/chat/completions",
        {"model": ECHO, "messages": CALLS_WEATHER, "tools": [WEATHER]},
        "CreateChatCompletionResponse",
    ),
    "completion": (
        "/completions",
        {"model": ECHO, "prompt": ["Say this", "and that"], "echo": True},
        "CreateCompletionResponse",
    ),
    "response": ("/responses", {"model": ECHO, "input": "Hello!"}, "Response"),
    "response calling a tool": (
        "/responses",
        {
            "model": ECHO,
            "input": 'get_weather {"city": "Paris"}',
            "tools": [{"type": "function", "name": "get_weather", "parameters": {}}],
        },
        "Response",
    ),
    "embeddings as floats": (
        "/embeddings",
        {"model": "writingmate/echo-embed", "input": ["one", "two"], "encoding_format": "float"},
        "CreateEmbeddingResponse",
    ),
    # (Not in base64: OpenAI's file types `embedding` as numbers only, though its API, like the
    # gateway, sends the base64 string asked for.)
    "images in base64": (
        "/images/generations",
        {"model": "writingmate/echo-image", "prompt": "A cat", "size": "256x256"},
        "ImagesResponse",
    ),
    "images as links": (
        "/images/generations",
        {"model": "writingmate/echo-image", "prompt": "A cat", "response_format": "url"},
        "ImagesResponse",
    ),
}


@pytest.mark.parametrize(("path", "body", "schema"), ANSWERS.values(), ids=ANSWERS.keys())
def test_every_answer_is_valid_for_openai_s_own_schema(
    gw: Gateway, path: str, body: dict[str, Any], schema: str
) -> None:
    assert openai_errors(schema, post(gw, path, body)) == []


STREAMS = {
    "chat chunks": (
        "/chat/completions",
        {"model": ECHO, "messages": HELLO, "stream_options": {"include_usage": True}},
        "CreateChatCompletionStreamResponse",
    ),
    "chat chunks calling a tool": (
        "/chat/completions",
        {"model": ECHO, "messages": CALLS_WEATHER, "tools": [WEATHER]},
        "CreateChatCompletionStreamResponse",
    ),
    "response events": ("/responses", {"model": ECHO, "input": "Hello!"}, "ResponseStreamEvent"),
}


@pytest.mark.parametrize(("path", "body", "schema"), STREAMS.values(), ids=STREAMS.keys())
def test_every_streamed_event_is_valid_for_openai_s_own_schema(
    gw: Gateway, path: str, body: dict[str, Any], schema: str
) -> None:
    streamed = events(gw, path, body)
    assert len(streamed) > 2
    assert [openai_errors(schema, event) for event in streamed] == [[]] * len(streamed)


def test_completion_chunks_are_openai_s_shapes_with_its_streaming_nulls(gw: Gateway) -> None:
    """OpenAI's file describes a completion chunk with the non-streamed schema; OpenAI's own
    chunks have `finish_reason: null` until a choice's last one, and `usage: null` but in the
    usage chunk, which is what clients expect. Nothing else may be null."""
    body = {"model": ECHO, "prompt": "Say this", "stream_options": {"include_usage": True}}
    streaming_nulls = {("usage",), ("choices", 0, "finish_reason")}
    validator = Draft202012Validator(
        {"$ref": "#/components/schemas/CreateCompletionResponse", "components": openai_components()}
    )
    for chunk in events(gw, "/completions", body):
        problems = [
            (tuple(e.absolute_path), e.message)
            for e in validator.iter_errors(chunk)
            if not (tuple(e.absolute_path) in streaming_nulls and e.instance is None)
        ]
        assert problems == [], chunk


def test_a_chat_answer_leaves_out_the_system_fingerprint_it_does_not_know(gw: Gateway) -> None:
    answer = post(gw, "/chat/completions", {"model": ECHO, "messages": HELLO})
    assert "system_fingerprint" not in answer
    assert openai_errors("CreateChatCompletionResponse", {**answer, "system_fingerprint": None})
