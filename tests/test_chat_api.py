"""Chat completions through the gateway with the official OpenAI SDK, on the offline echo model."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import Gateway

ECHO = "writingmate/echo"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


def test_chat_answers_with_usage_and_counts_a_message(gateway: Gateway) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model=ECHO, messages=[{"role": "user", "content": "Hello there, gateway!"}]
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == ECHO
    assert completion.choices[0].message.content == "Hello there, gateway!"
    assert completion.choices[0].message.refusal is None
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 5
    assert completion.usage.completion_tokens == 5
    assert completion.usage.total_tokens == 10
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    assert raw.headers["x-request-id"].startswith("req_")
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (5, 5, 1)
    assert (row["model"], row["provider"], row["status"]) == (ECHO, "writingmate", "completed")
    assert row["workspace_id"] == gateway.workspace_id
    assert row["user_id"] == gateway.user_id


def test_stream_without_include_usage_sends_no_usage(gateway: Gateway) -> None:
    stream = gateway.client().chat.completions.create(
        model=ECHO, messages=[{"role": "user", "content": "one two three four"}], stream=True
    )
    chunks = list(stream)
    assert len(chunks) >= 4
    assert len({c.id for c in chunks}) == 1
    assert len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)
    assert gateway.ledger()[0]["completion_tokens"] == 4


def test_stream_with_include_usage_ends_with_one_usage_chunk(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions",
            json={
                "model": ECHO,
                "messages": [{"role": "user", "content": "count these words"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    assert frames[-1] == "data: [DONE]"
    payloads = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    *content, usage_chunk = payloads
    assert all(p["usage"] is None for p in content)
    assert content[-1]["choices"][0]["finish_reason"] == "stop"
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == 3
    assert usage_chunk["usage"]["completion_tokens"] == 3


def test_tool_call_without_streaming(gateway: Gateway) -> None:
    completion = gateway.client().chat.completions.create(
        model=ECHO,
        messages=[{"role": "user", "content": 'Use get_weather with {"city": "Paris"}'}],
        tools=[WEATHER_TOOL],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_streamed_tool_call_accumulates_in_the_sdk_helper(gateway: Gateway) -> None:
    with gateway.client().chat.completions.stream(
        model=ECHO,
        messages=[{"role": "user", "content": 'get_weather {"city": "Oslo"}'}],
        tools=[WEATHER_TOOL],
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}


def test_parallel_tool_calls_stream_with_indexes(gateway: Gateway) -> None:
    stream = gateway.client().chat.completions.create(
        model=ECHO,
        messages=[{"role": "user", "content": "get_weather and get_time please"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        stream=True,
    )
    firsts = {}
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            assert call.index is not None
            if call.index not in firsts:
                firsts[call.index] = call
    assert sorted(firsts) == [0, 1]
    assert {c.function.name for c in firsts.values()} == {"get_weather", "get_time"}
    assert all(isinstance(c.id, str) and c.type == "function" for c in firsts.values())


def test_tool_result_round_trip(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.chat.completions.create(
        model=ECHO,
        messages=[{"role": "user", "content": "get_weather Paris"}],
        tools=[WEATHER_TOOL],
    )
    call = first.choices[0].message.tool_calls[0]
    history = [
        {"role": "user", "content": "get_weather Paris"},
        first.choices[0].message.model_dump(exclude_unset=False),
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"},
    ]
    second = client.chat.completions.create(model=ECHO, messages=history, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "Tool result: 18C and sunny"


def test_history_with_sdk_extras_and_unknown_fields_is_accepted(gateway: Gateway) -> None:
    completion = gateway.client().chat.completions.create(
        model=ECHO,
        messages=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "assistant",
                "content": "Hi",
                "refusal": None,
                "annotations": [],
                "audio": None,
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
        ],
        stream_options=None,
        store=False,
        metadata={"team": "a"},
        reasoning_effort="low",
        max_completion_tokens=50,
        extra_body={"some_future_field": {"x": 1}},
    )
    assert completion.choices[0].message.content == "look"


def test_max_tokens_truncates_with_finish_reason_length(gateway: Gateway) -> None:
    completion = gateway.client().chat.completions.create(
        model=ECHO, messages=[{"role": "user", "content": "a b c d e f"}], max_tokens=2
    )
    assert completion.choices[0].message.content == "a b"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 2


def test_n_gives_several_choices(gateway: Gateway) -> None:
    completion = gateway.client().chat.completions.create(
        model=ECHO, messages=[{"role": "user", "content": "twice"}], n=2
    )
    assert [c.index for c in completion.choices] == [0, 1]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": ECHO, "messages": []}, "messages"),
        (
            {"model": ECHO, "messages": [{"role": "user", "content": "x"}], "temperature": 5},
            "temperature",
        ),
        ({"model": ECHO, "messages": [{"content": "x"}]}, "messages[0].role"),
    ],
)
def test_invalid_request_is_a_400_naming_the_param(
    gateway: Gateway, body: dict, param: str
) -> None:
    with gateway.http() as http:
        response = http.post("/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_sdk_raises_bad_request_error_for_a_bad_value(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().chat.completions.create(
            model=ECHO, messages=[{"role": "user", "content": "x"}], n=0
        )
    assert caught.value.param == "n"


async def test_async_client_streams_too(gateway: Gateway) -> None:
    client = gateway.async_client()
    stream = await client.chat.completions.create(
        model=ECHO,
        messages=[{"role": "user", "content": "async hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage.completion_tokens == 2
    await client.close()
