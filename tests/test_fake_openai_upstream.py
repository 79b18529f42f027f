"""Prove the fake OpenAI upstream is faithful: drive it with the official ``openai`` SDK.

Every behaviour the gateway's tests rely on is exercised here with ``openai.OpenAI`` and
``openai.AsyncOpenAI`` (parsing, the stream helper, the exception mapping, retries), and the raw
wire format is checked against the official schemas in
``tests/fixtures/openai-openapi-subset.yaml`` (a subset of OpenAI's published spec).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import pytest_asyncio
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)

from tests.fakes.openai_errors import insufficient_quota_error
from tests.fakes.openai_upstream import FakeOpenAIUpstream

API_KEY = "sk-test-upstream-0123456789abcdef"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather in Paris?"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
SPEC = Path(__file__).parent / "fixtures" / "openai-openapi-subset.yaml"


def _function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    calls = message.tool_calls or []
    assert all(isinstance(c, ChatCompletionMessageFunctionToolCall) for c in calls)
    return [c for c in calls if isinstance(c, ChatCompletionMessageFunctionToolCall)]


# ---------------------------------------------------------------------------------------------
# Fixtures: one server per module, state reset before every test.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeOpenAIUpstream, str]]:
    fake = FakeOpenAIUpstream(API_KEY)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeOpenAIUpstream, str]) -> FakeOpenAIUpstream:
    upstream[0].reset()
    return upstream[0]


@pytest.fixture
def base_url(upstream: tuple[FakeOpenAIUpstream, str]) -> str:
    return f"{upstream[1]}/v1"


@pytest.fixture
def client(fake: FakeOpenAIUpstream, base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as sdk:
        yield sdk


@pytest_asyncio.fixture
async def aclient(fake: FakeOpenAIUpstream, base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as sdk:
        yield sdk


# ---------------------------------------------------------------------------------------------
# Models.
# ---------------------------------------------------------------------------------------------


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"]
    assert all(m.object == "model" and m.owned_by and m.created > 0 for m in models)

    model = client.models.retrieve("gpt-4o")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o", "model", "system")
    assert model._request_id is not None and model._request_id.startswith("req_")


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-does-not-exist")
    error = caught.value
    assert error.status_code == 404
    assert error.code == "model_not_found" and error.param == "model"
    assert error.type == "invalid_request_error"
    assert "The model 'gpt-does-not-exist' does not exist" in error.message
    assert error.body == {
        "message": "The model 'gpt-does-not-exist' does not exist",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert error.request_id is not None and error.request_id.startswith("req_")


@pytest.mark.asyncio
async def test_async_models(aclient: openai.AsyncOpenAI) -> None:
    page = await aclient.models.list()
    assert "gpt-4o" in [m.id async for m in page]
    with pytest.raises(openai.NotFoundError):
        await aclient.models.retrieve("nope")


# ---------------------------------------------------------------------------------------------
# Non-streaming chat.
# ---------------------------------------------------------------------------------------------


def test_chat_completion_with_usage(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("Hello there", prompt_tokens=12, completion_tokens=3, cached_tokens=4)
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=USER)
    completion = raw.parse()

    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-request-id"].startswith("req_")
    assert int(raw.headers["openai-processing-ms"]) >= 0
    assert completion._request_id == raw.headers["x-request-id"]
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert completion.created == pytest.approx(time.time(), abs=5)
    assert completion.service_tier == "default"
    assert completion.system_fingerprint and completion.system_fingerprint.startswith("fp_")
    [choice] = completion.choices
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, "stop", None)
    message = choice.message
    assert (message.role, message.content) == ("assistant", "Hello there")
    assert message.refusal is None and message.annotations == [] and message.tool_calls is None
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 3, 15)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4
    assert usage.prompt_tokens_details.audio_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.to_dict() == {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }


def test_default_reply_echoes_and_counts_words(
    fake: FakeOpenAIUpstream, client: openai.OpenAI
) -> None:
    completion = client.chat.completions.create(
        model="any-model",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "say three words"}]},
        ],
    )
    assert completion.choices[0].message.content == "say three words"
    assert completion.model == "any-model"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 3)


def test_requests_are_recorded(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=USER, temperature=0.2)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body == {"model": MODEL, "messages": USER, "temperature": 0.2}
    [call] = fake.calls
    assert call.completed and not call.disconnected and not call.stream


# ---------------------------------------------------------------------------------------------
# Streaming chat.
# ---------------------------------------------------------------------------------------------


def test_stream_without_usage(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("The quick brown fox")
    chunks = list(client.chat.completions.create(model=MODEL, messages=USER, stream=True))

    assert len({(c.id, c.created, c.model) for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-") and chunks[0].object == "chat.completion.chunk"
    first = chunks[0].choices[0].delta
    assert (first.role, first.content) == ("assistant", "")
    pieces = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(pieces) > 1 and "".join(p or "" for p in pieces) == "The quick brown fox"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    # Like OpenAI: without include_usage the key is not sent at all.
    assert all("usage" not in c.to_dict() for c in chunks)


def test_stream_with_usage(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("Hello there", prompt_tokens=7, completion_tokens=2)
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    *body, last = chunks
    assert all(c.usage is None and "usage" in c.to_dict() for c in body)
    assert body[-1].choices[0].finish_reason == "stop"
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        7,
        2,
        9,
    )


@pytest.mark.asyncio
async def test_async_stream_with_usage(
    fake: FakeOpenAIUpstream, aclient: openai.AsyncOpenAI
) -> None:
    fake.reply("one two three four")
    stream = await aclient.chat.completions.create(
        model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert [c.usage is not None for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_stream_helper_accumulates_tool_call(
    fake: FakeOpenAIUpstream, client: openai.OpenAI
) -> None:
    fake.reply(tool_calls=[("get_weather", '{"city": "Paris"}')])
    with client.chat.completions.stream(model=MODEL, messages=USER, tools=[WEATHER_TOOL]) as stream:
        events = list(stream)
        final = stream.get_final_completion()

    fragments = [e for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert len(fragments) >= 2
    [call] = _function_calls(final.choices[0].message)
    assert call.id.startswith("call_") and call.type == "function"
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Paris"}')
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.content is None


@pytest.mark.asyncio
async def test_async_stream_helper_parallel_tool_calls(
    fake: FakeOpenAIUpstream, aclient: openai.AsyncOpenAI
) -> None:
    fake.reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    async with aclient.chat.completions.stream(
        model=MODEL, messages=USER, tools=[WEATHER_TOOL, TIME_TOOL]
    ) as stream:
        final = await stream.get_final_completion()
    calls = _function_calls(final.choices[0].message)
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert len({c.id for c in calls}) == 2
    assert final.choices[0].finish_reason == "tool_calls"


def test_parallel_tool_calls_non_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply(
        tool_calls=[("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Rome"}')]
    )
    completion = client.chat.completions.create(model=MODEL, messages=USER, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = _function_calls(choice.message)
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Rome"]
    assert all(c.id.startswith("call_") and c.type == "function" for c in calls)


def test_unscripted_request_with_tools_calls_first_tool(
    fake: FakeOpenAIUpstream, client: openai.OpenAI
) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=USER, tools=[WEATHER_TOOL])
    [call] = _function_calls(completion.choices[0].message)
    assert call.function.name == "get_weather"
    tool_result: list[ChatCompletionMessageParam] = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    answer = client.chat.completions.create(model=MODEL, messages=tool_result, tools=[WEATHER_TOOL])
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.content == QUESTION


# ---------------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------------


def test_wrong_key_is_authentication_error(fake: FakeOpenAIUpstream, base_url: str) -> None:
    sdk = openai.OpenAI(base_url=base_url, api_key="sk-wrong-key-123456", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=USER)
    error = caught.value
    assert error.status_code == 401 and error.code == "invalid_api_key"
    assert isinstance(error.body, dict)
    assert error.body["message"].startswith("Incorrect API key provided: sk-")
    assert "sk-wrong-key-123456" not in error.body["message"]
    assert error.body["type"] == "invalid_request_error" and error.body["param"] is None
    assert error.response.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_async_wrong_key(fake: FakeOpenAIUpstream, base_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-nope", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.models.list()


def test_rate_limit_error(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER)
    error = caught.value
    assert error.status_code == 429
    assert (error.code, error.type) == ("rate_limit_exceeded", "requests")
    assert error.message.startswith("Error code: 429") and "Rate limit reached" in error.message
    headers = error.response.headers
    assert headers["retry-after"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-limit-requests"] == "500"
    assert error.request_id == headers["x-request-id"]


def test_insufficient_quota_with_custom_headers(
    fake: FakeOpenAIUpstream, client: openai.OpenAI
) -> None:
    fake.fail(429, insufficient_quota_error(), headers={"x-should-retry": "false"})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "retry-after" not in caught.value.response.headers


def test_sdk_retries_after_429_then_succeeds(fake: FakeOpenAIUpstream, base_url: str) -> None:
    fake.fail(429, headers={"retry-after-ms": "10"})
    fake.reply("finally")
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=2) as sdk:
        completion = sdk.chat.completions.create(model=MODEL, messages=USER)
    assert completion.choices[0].message.content == "finally"
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]
    assert fake.pending == 0


def test_internal_server_error(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.fail(500)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert caught.value.response.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_async_overloaded(fake: FakeOpenAIUpstream, aclient: openai.AsyncOpenAI) -> None:
    fake.fail(503)
    with pytest.raises(openai.InternalServerError) as caught:
        await aclient.chat.completions.create(model=MODEL, messages=USER)
    assert caught.value.status_code == 503
    assert "overloaded" in caught.value.message


def test_error_in_mid_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("a b c d e", error_after=2)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    assert "The server had an error" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Timing and disconnects (what the gateway's cancellation tests rely on).
# ---------------------------------------------------------------------------------------------


def test_slow_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("a b c d", chunk_delay=0.05)
    started = time.monotonic()
    chunks = list(client.chat.completions.create(model=MODEL, messages=USER, stream=True))
    assert len(chunks) == 6  # role, 4 pieces, finish
    assert time.monotonic() - started >= 0.05 * 5


def test_client_closing_stream_is_recorded(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("never finished", hang_after=2)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    iterator = iter(stream)
    next(iterator)
    next(iterator)
    stream.close()
    assert fake.wait_for_disconnect(5)
    [call] = fake.calls
    assert call.stream and call.disconnected and not call.completed and call.chunks_sent == 2
    assert fake.disconnects == 1


@pytest.mark.asyncio
async def test_read_timeout_on_hung_stream(fake: FakeOpenAIUpstream, base_url: str) -> None:
    fake.reply("stuck", hang_after=1)
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key=API_KEY, max_retries=0, timeout=0.3
    ) as sdk:
        stream = await sdk.chat.completions.create(model=MODEL, messages=USER, stream=True)
        with pytest.raises((openai.APITimeoutError, httpx.ReadTimeout)):
            async for _ in stream:
                pass
    assert fake.wait_for_disconnect(5)
    assert fake.calls[0].chunks_sent == 1


@pytest.mark.asyncio
async def test_client_leaving_slow_non_stream_is_recorded(
    fake: FakeOpenAIUpstream, base_url: str
) -> None:
    fake.reply("too late", delay=2.0)
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key=API_KEY, max_retries=0, timeout=0.2
    ) as sdk:
        with pytest.raises(openai.APITimeoutError):
            await sdk.chat.completions.create(model=MODEL, messages=USER)
    assert await fake.wait_for_disconnect_async(5)
    [call] = fake.calls
    assert call.disconnected and not call.completed and not call.stream


def test_release_lets_hung_stream_finish(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.reply("x y", hang_after=1)
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    iterator = iter(stream)
    next(iterator)
    fake.release()
    rest = list(iterator)
    assert rest[-1].choices[0].finish_reason == "stop"
    assert fake.calls[0].completed and fake.disconnects == 0


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
