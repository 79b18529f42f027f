"""The fake OpenAI upstream answers models and chat completions as OpenAI does, proved with the
official ``openai`` SDK (``openai.OpenAI`` and ``openai.AsyncOpenAI``): parsing, usage, streams
and the stream helper, tool calls. Fixtures: tests/fake_openai_upstream_helpers.py."""

from __future__ import annotations

import json
import time

import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)

from tests.fake_openai_upstream_helpers import (
    API_KEY,
    MODEL,
    QUESTION,
    TIME_TOOL,
    USER,
    WEATHER_TOOL,
)
from tests.fakes.openai_upstream import FakeOpenAIUpstream


def _function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    calls = message.tool_calls or []
    assert all(isinstance(c, ChatCompletionMessageFunctionToolCall) for c in calls)
    return [c for c in calls if isinstance(c, ChatCompletionMessageFunctionToolCall)]


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
