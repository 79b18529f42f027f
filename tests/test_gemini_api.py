"""The Gemini provider end to end: the official `openai` SDK talks to a real gateway on
loopback, which talks to the fake Gemini upstream (tests/fakes/gemini_upstream.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import openai
import pytest

from tests.conftest import GEMINI_KEY, Gateway
from tests.fakes.gemini_upstream import FakeGeminiUpstream

MODEL = "google/gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello"}]
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture
def fake(fake_gemini: FakeGeminiUpstream) -> FakeGeminiUpstream:
    return fake_gemini


@pytest.fixture
def gateway(gemini_gateway: Gateway) -> Gateway:
    return gemini_gateway


def test_plain_completion(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply("Hi there!", prompt_tokens=9, candidates_tokens=3)
    completion = gateway.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        max_tokens=64,
        temperature=0.3,
        stop=["END"],
    )
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "Hi there!"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 3)
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    assert request.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": "Hello"}]}]
    assert request.body["generationConfig"] == {
        "maxOutputTokens": 64,
        "temperature": 0.3,
        "stopSequences": ["END"],
    }
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (9, 3)


def test_streamed_completion(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply("one two three", prompt_tokens=5, candidates_tokens=3)
    chunks = list(
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1 and all(c.model == MODEL for c in chunks)
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request.query == "alt=sse"
    [row] = gateway.ledger()
    assert row["prompt_tokens"] == 5 and row["usage_estimated"] is False


def test_cached_and_thought_tokens_in_usage(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(
        "ok",
        prompt_tokens=19_000,
        candidates_tokens=1_000,
        cached_tokens=4_000,
        thoughts_tokens=2_000,
        thought="Thinking about it.",
    )
    raw = gateway.client().chat.completions.with_raw_response.create(
        model=MODEL, messages=HELLO, reasoning_effort="medium"
    )
    completion = raw.parse()
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (19_000, 3_000)
    assert usage.prompt_tokens_details.cached_tokens == 4_000
    assert usage.completion_tokens_details.reasoning_tokens == 2_000
    assert completion.choices[0].message.content == "ok"
    assert fake.requests[-1].body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 8192,
        "includeThoughts": True,
    }
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (
        19_000,
        3_000,
        4_000,
    )


def test_streamed_usage_with_cached_tokens(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(
        "streamed words here",
        prompt_tokens=50,
        candidates_tokens=3,
        cached_tokens=20,
        thoughts_tokens=7,
        thought="Hmm.",
    )
    chunks = list(
        gateway.client().chat.completions.create(
            model=MODEL,
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
            reasoning_effort="low",
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed words here"
    reasoning = [
        getattr(c.choices[0].delta, "reasoning_content", None) for c in chunks if c.choices
    ]
    assert "Hmm." in reasoning
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (50, 10)
    assert usage.prompt_tokens_details.cached_tokens == 20
    assert usage.completion_tokens_details.reasoning_tokens == 7
    [row] = gateway.ledger()
    assert row["cached_tokens"] == 20 and row["usage_estimated"] is False


def test_streamed_tool_calls(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(function_calls=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    time_tool = {"type": "function", "function": {"name": "get_time"}}
    with gateway.client().chat.completions.stream(
        model=MODEL, messages=HELLO, tools=[WEATHER, time_tool], tool_choice="required"
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert all(c.id.startswith("call_") for c in calls) and calls[0].id != calls[1].id
    assert final.choices[0].finish_reason == "tool_calls"
    body = fake.requests[-1].body
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    declared = body["tools"][0]["functionDeclarations"]
    assert declared[0]["parametersJsonSchema"]["properties"] == {"city": {"type": "string"}}


def test_tool_call_round_trip_not_streamed(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(function_calls=[("get_weather", {"city": "Rome"})])
    client = gateway.client()
    messages: list[dict] = [{"role": "user", "content": "Weather in Rome?"}]
    first = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    [call] = first.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert fake.requests[-1].body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }

    fake.reply("It is 18 degrees in Rome.")
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == "It is 18 degrees in Rome."
    contents = fake.requests[-1].body["contents"]
    signature = (call.model_extra or {})["extra_content"]["google"]["thought_signature"]
    assert signature in fake.signatures  # Gemini's thought signature went back with the call
    assert contents[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Rome"}},
                "thoughtSignature": signature,
            }
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}],
    }


def test_image_in(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply("A red pixel.")
    completion = gateway.client().chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "A red pixel."
    parts = fake.requests[-1].body["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PNG}}


def test_image_url_over_http_is_refused(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().chat.completions.create(
            model=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                }
            ],
        )
    assert caught.value.body["param"] == "messages[0].content[0].image_url.url"
    assert caught.value.body["code"] == "unsupported_image_url"
    assert fake.requests == []


def test_json_schema_out(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply('{"answer": 42}')
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    completion = gateway.client().chat.completions.create(
        model=MODEL,
        messages=HELLO,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        },
    )
    assert json.loads(completion.choices[0].message.content) == {"answer": 42}
    config = fake.requests[-1].body["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_blocked_prompt_is_content_filter(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(block_reason="SAFETY", prompt_tokens=6)
    completion = gateway.client().chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content == ""
    fake.reply(block_reason="SAFETY", prompt_tokens=6)
    chunks = list(
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_safety_finish_is_content_filter_in_a_stream(
    gateway: Gateway, fake: FakeGeminiUpstream
) -> None:
    fake.reply("partial answer", finish_reason="SAFETY")
    chunks = list(
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(
    ("upstream_status", "exception", "status"),
    [
        (400, openai.BadRequestError, 400),
        (404, openai.InternalServerError, 502),
        (429, openai.RateLimitError, 429),
        (500, openai.InternalServerError, 502),
        (503, openai.InternalServerError, 503),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors(
    gateway: Gateway,
    fake: FakeGeminiUpstream,
    upstream_status: int,
    exception: type,
    status: int,
    stream: bool,
) -> None:
    fake.fail(upstream_status)
    with pytest.raises(exception) as caught:
        result = gateway.client().chat.completions.create(
            model=MODEL, messages=HELLO, stream=stream
        )
        list(result) if stream else None  # type: ignore[call-overload]
    assert caught.value.status_code == status
    assert set(caught.value.body) >= {"message", "type", "param", "code"}
    [row] = gateway.ledger()
    assert row["status"] == "upstream_error" and row["messages"] == 0


def test_wrong_gateway_key_upstream_is_502_not_400(
    start_gateway: Callable[..., Gateway], fake: FakeGeminiUpstream
) -> None:
    assert fake.base_url
    gateway = start_gateway(
        env={"WMGW_GEMINI_API_KEY": "AIza-wrong", "WMGW_GEMINI_BASE_URL": fake.base_url}
    )
    with pytest.raises(openai.InternalServerError) as caught:
        gateway.client().chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == 502


def test_error_in_the_middle_of_a_stream(gateway: Gateway, fake: FakeGeminiUpstream) -> None:
    fake.reply(
        "one two",
        finish_reason="STOP",
        stream_error={"error": {"code": 500, "message": "boom", "status": "INTERNAL"}},
        chunks=["one", " two"],
    )
    # The fake sends the error after the finished answer: the gateway still reports it.
    stream = gateway.client().chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    [row] = gateway.ledger()
    assert row["status"] == "interrupted"


def test_the_models_are_listed(gateway: Gateway) -> None:
    ids = [m.id for m in gateway.client().models.list()]
    assert MODEL in ids and "google/gemini-2.5-pro" in ids
