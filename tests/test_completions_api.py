"""Legacy completions (`POST /completions`) through the gateway with the official OpenAI SDK:
translated through the chat API for chat models (the offline echo model, OpenAI chat models on
the fake upstream), passed through for completions models (`openai/gpt-3.5-turbo-instruct` on
the fake upstream's `/v1/completions`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY, Gateway, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.spec_helpers import REFERENCE, errors

ECHO = "writingmate/echo"
INSTRUCT = "openai/gpt-3.5-turbo-instruct"
CHAT_MODEL = "openai/gpt-4o-mini"


def sse_payloads(text: str) -> tuple[list[dict[str, Any]], str]:
    """The JSON payloads of a stream's events, and its last frame."""
    frames = [f for f in text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    return [json.loads(f.removeprefix("data: ")) for f in frames[:-1]], frames[-1]


# --------------------------------------------------------------------- the echo model (translated)


def test_completion_answers_with_text_usage_headers_and_a_ledger_row(gateway: Gateway) -> None:
    raw = gateway.client().completions.with_raw_response.create(
        model=ECHO, prompt="Say this is a test"
    )
    completion = raw.parse()
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.model == ECHO
    [choice] = completion.choices
    assert (choice.text, choice.index, choice.finish_reason) == ("Say this is a test", 0, "stop")
    assert choice.logprobs is None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 5)
    assert completion.usage.total_tokens == 10
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["endpoint"], row["model"], row["provider"]) == ("completions", ECHO, "writingmate")
    assert (row["status"], row["http_status"]) == ("completed", 200)
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (5, 5, 1)


def test_max_tokens_defaults_to_16_as_on_openai(gateway: Gateway) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    completion = gateway.client().completions.create(model=ECHO, prompt=words)
    assert completion.choices[0].text == " ".join(f"w{i}" for i in range(16))
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 16


def test_max_tokens_and_stop_cut_the_text(gateway: Gateway) -> None:
    client = gateway.client()
    short = client.completions.create(model=ECHO, prompt="a b c d e f", max_tokens=2)
    assert (short.choices[0].text, short.choices[0].finish_reason) == ("a b", "length")
    stopped = client.completions.create(model=ECHO, prompt="one two. three", stop=["."])
    assert (stopped.choices[0].text, stopped.choices[0].finish_reason) == ("one two", "stop")


def test_echo_puts_the_prompt_in_front_of_the_text(gateway: Gateway) -> None:
    completion = gateway.client().completions.create(model=ECHO, prompt="Hello", echo=True)
    assert completion.choices[0].text == "HelloHello"


def test_a_list_of_prompts_gets_n_choices_each_numbered_in_prompt_order(gateway: Gateway) -> None:
    completion = gateway.client().completions.create(
        model=ECHO, prompt=["first prompt", "second one here"], n=2
    )
    assert [(c.index, c.text) for c in completion.choices] == [
        (0, "first prompt"),
        (1, "first prompt"),
        (2, "second one here"),
        (3, "second one here"),
    ]
    # Two chat calls: 2 + 3 prompt tokens, and each choice's text is counted.
    assert completion.usage.prompt_tokens == 5
    assert completion.usage.completion_tokens == 2 * 2 + 3 * 2
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (5, 10)


def test_stream_without_include_usage_shares_one_id_and_ends_with_done(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/completions", json={"model": ECHO, "prompt": "one two three four", "stream": True}
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads, last = sse_payloads(response.text)
    assert last == "data: [DONE]"
    assert len(payloads) >= 4
    assert {p["object"] for p in payloads} == {"text_completion"}
    assert len({p["id"] for p in payloads}) == 1 and payloads[0]["id"].startswith("cmpl-")
    assert len({p["created"] for p in payloads}) == 1
    assert {p["model"] for p in payloads} == {ECHO}
    assert "".join(p["choices"][0]["text"] for p in payloads) == "one two three four"
    assert [p["choices"][0]["finish_reason"] for p in payloads][-1] == "stop"
    assert all(p["choices"][0]["finish_reason"] is None for p in payloads[:-1])
    assert all("usage" not in p for p in payloads)
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["completion_tokens"]) == (
        "completions",
        "completed",
        4,
    )


def test_sdk_stream_with_include_usage_ends_with_one_usage_chunk(gateway: Gateway) -> None:
    stream = gateway.client().completions.create(
        model=ECHO,
        prompt=["count these words", "and these"],
        echo=True,
        stream=True,
        stream_options={"include_usage": True},
    )
    *chunks, usage_chunk = list(stream)
    assert all(c.usage is None for c in chunks)
    assert usage_chunk.choices == [] and usage_chunk.id == chunks[0].id
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (5, 5)
    texts: dict[int, str] = {}
    finishes = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + choice.text
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert texts == {0: "count these wordscount these words", 1: "and theseand these"}
    assert finishes == {0: "stop", 1: "stop"}


async def test_async_client_streams_too(gateway: Gateway) -> None:
    client = gateway.async_client()
    stream = await client.completions.create(
        model=ECHO, prompt="async hello", stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "async hello"
    assert chunks[-1].usage.completion_tokens == 2
    await client.close()


def test_responses_match_openais_official_schema(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    if not REFERENCE.exists():
        pytest.skip("the official OpenAI schemas are not on this machine")
    client = gateway.client()
    answers = [
        client.completions.with_raw_response.create(
            model=ECHO, prompt=["a b", "c"], n=2, logprobs=2, echo=True
        ),
        client.completions.with_raw_response.create(model=CHAT_MODEL, prompt="x", echo=True),
        client.completions.with_raw_response.create(model=INSTRUCT, prompt="x", logprobs=1),
    ]
    for raw in answers:
        assert errors("CreateCompletionResponse", raw.http_response.json(), official=True) == []


def test_echo_honours_what_only_a_deterministic_model_can(gateway: Gateway) -> None:
    client = gateway.client()
    inserted = client.completions.create(model=ECHO, prompt="a b", suffix=" c.", best_of=3)
    assert inserted.choices[0].text == "a b"
    numbers = client.completions.create(model=ECHO, prompt=[[1212, 318], [257]])
    assert [c.text for c in numbers.choices] == ["1212 318", "257"]


def test_echo_gives_certain_logprobs_with_offsets_after_the_echoed_prompt(
    gateway: Gateway,
) -> None:
    completion = gateway.client().completions.create(
        model=ECHO, prompt="Hi there", logprobs=1, echo=True
    )
    logprobs = completion.choices[0].logprobs
    assert completion.choices[0].text == "Hi thereHi there"
    assert logprobs.tokens == ["Hi ", "there"]
    assert logprobs.token_logprobs == [0.0, 0.0]
    assert logprobs.top_logprobs == [{"Hi ": 0.0}, {"there": 0.0}]
    assert logprobs.text_offset == [8, 11]
    streamed = list(
        gateway.client().completions.create(model=ECHO, prompt="Hi there", logprobs=0, stream=True)
    )
    assert [c.choices[0].logprobs.text_offset for c in streamed[:-1]] == [[0], [3]]
    assert streamed[-1].choices[0].logprobs is None


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"suffix": " and the end."}, "suffix"),
        ({"best_of": 3}, "best_of"),
        ({"best_of": 1, "n": 2}, "best_of"),
        ({"prompt": [1212, 318, 257]}, "prompt"),
        ({"prompt": [[1212, 318], [257]]}, "prompt"),
        ({"logprobs": 2, "echo": True}, "logprobs"),
    ],
)
def test_what_a_chat_model_cannot_honour_is_a_400_naming_the_param(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, options: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().completions.create(
            model=CHAT_MODEL, **{"prompt": "Say this is a test", **options}
        )
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert fake_openai.requests == []
    assert gateway.ledger() == []  # refused before anything was reserved


def test_logprobs_are_refused_for_a_provider_whose_chat_api_has_none(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(
        env={
            "WMGW_ANTHROPIC_API_KEY": "sk-ant-test",
            "WMGW_ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        }
    )
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().completions.create(
            model="anthropic/claude-haiku-4.5", prompt="x", logprobs=1
        )
    assert caught.value.param == "logprobs"
    assert caught.value.code == "unsupported_parameter"


def test_chat_model_logprobs_are_asked_of_the_chat_api(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    gateway.client().completions.create(model=CHAT_MODEL, prompt="x", logprobs=3)
    sent = fake_openai.requests[0].body
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 3)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x"}, "model"),
        ({"model": ECHO}, "prompt"),
        ({"model": ECHO, "prompt": "x", "logprobs": 6}, "logprobs"),
        ({"model": ECHO, "prompt": "x", "n": 0}, "n"),
        ({"model": ECHO, "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": ECHO, "prompt": []}, "prompt"),
    ],
)
def test_invalid_request_is_a_400_in_openais_envelope(
    gateway: Gateway, body: dict[str, Any], param: str
) -> None:
    with gateway.http() as http:
        response = http.post("/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


def test_unknown_model_is_a_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().completions.create(model="nobody/nothing", prompt="x")
    assert caught.value.code == "model_not_found"


def test_exhausted_daily_limit_is_a_429(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway: Gateway = start_gateway(daily_limit=1)
    client = gateway.client()
    raw = client.completions.with_raw_response.create(model=ECHO, prompt="hi")
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        client.completions.create(model=ECHO, prompt="hi")
    assert caught.value.code == "insufficient_quota"


# --------------------------------------------------- chat models on the fake upstream (translated)


def test_chat_model_gets_the_prompt_as_one_user_message(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("in Paris.", prompt_tokens=7, completion_tokens=3)
    completion = gateway.client().completions.create(
        model=CHAT_MODEL, prompt="The capital of France is", temperature=0, stop="\n", seed=3
    )
    assert completion.choices[0].text == "in Paris."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 3)
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    sent = request.body
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [{"role": "user", "content": "The capital of France is"}]
    assert (sent["max_completion_tokens"], sent["temperature"], sent["stop"]) == (16, 0, "\n")
    assert sent["seed"] == 3 and "prompt" not in sent and "echo" not in sent


def test_chat_model_stream_relays_the_upstreams_text(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Once upon a time", prompt_tokens=4, completion_tokens=4)
    stream = gateway.client().completions.create(
        model=CHAT_MODEL, prompt="Tell me a story", stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks) == "Once upon a time"
    assert chunks[-1].choices[0].finish_reason == "stop"
    sent = fake_openai.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"]) == (4, 4, False)


def test_chat_model_tool_like_finish_reason_becomes_stop(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("cut", finish_reason="length")
    completion = gateway.client().completions.create(model=CHAT_MODEL, prompt="x", max_tokens=1)
    assert completion.choices[0].finish_reason == "length"
    assert fake_openai.requests[0].body["max_completion_tokens"] == 1


def test_chat_upstream_failure_keeps_its_status(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client().completions.create(model=CHAT_MODEL, prompt="x")
    assert caught.value.response.headers["retry-after-ms"] == "120"
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"], row["messages"]) == ("upstream_error", 429, 0)


# ---------------------------------- a completions model on the fake upstream (passed through)


def test_fake_upstream_speaks_openais_legacy_completions(fake_openai: FakeOpenAIUpstream) -> None:
    """The fake itself, checked with the official SDK."""
    client = openai.OpenAI(base_url=f"{fake_openai.base_url}/v1", api_key=UPSTREAM_KEY)
    completion = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=["a b", "c"], n=2, logprobs=2
    )
    assert [c.index for c in completion.choices] == [0, 1, 2, 3]
    assert completion.choices[0].logprobs.tokens == [" a", " b"]
    assert completion.choices[0].logprobs.text_offset == [0, 2]
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="x y",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x", echo=True, logprobs=1)


def test_completions_model_is_passed_through_and_relabelled(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" test.", prompt_tokens=5, completion_tokens=2)
    raw = gateway.client().completions.with_raw_response.create(
        model=INSTRUCT,
        prompt="Say this is a",
        suffix=" Done.",
        echo=True,
        max_tokens=7,
        user="user-1234",
        extra_body={"some_future_field": 1},
    )
    completion = raw.parse()
    assert completion.model == INSTRUCT and completion.id.startswith("cmpl-")
    assert completion.choices[0].text == "Say this is a test."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 2)
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [request] = fake_openai.requests
    assert request.path == "/v1/completions"
    assert completion.id not in json.dumps(request.body)
    sent = request.body
    assert sent["model"] == "gpt-3.5-turbo-instruct"
    assert (sent["suffix"], sent["echo"], sent["max_tokens"]) == (" Done.", True, 7)
    assert sent["some_future_field"] == 1 and sent["stream"] is False
    [row] = gateway.ledger()
    assert (row["endpoint"], row["model"], row["provider"]) == ("completions", INSTRUCT, "openai")


def test_passed_through_logprobs_and_token_prompts_reach_the_client(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    completion = gateway.client().completions.create(
        model=INSTRUCT, prompt=[[1212, 318], [257]], logprobs=1
    )
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.choices[0].logprobs.tokens == [" 1212", " 318"]
    assert completion.choices[0].logprobs.top_logprobs == [{" 1212": -0.5}, {" 318": -0.5}]
    assert fake_openai.requests[0].body["prompt"] == [[1212, 318], [257]]


def test_passed_through_stream_asks_for_usage_but_gives_it_only_when_asked(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" one two three", prompt_tokens=3, completion_tokens=3)
    chunks = list(gateway.client().completions.create(model=INSTRUCT, prompt="count:", stream=True))
    sent = fake_openai.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert all(c.usage is None and c.choices for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("cmpl-")
    assert {c.model for c in chunks} == {INSTRUCT}
    assert "".join(c.choices[0].text for c in chunks) == " one two three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"]) == (3, 3, False)

    fake_openai.reply(" four", prompt_tokens=3, completion_tokens=1)
    *_, usage_chunk = gateway.client().completions.create(
        model=INSTRUCT, prompt="count:", stream=True, stream_options={"include_usage": True}
    )
    assert usage_chunk.choices == [] and usage_chunk.usage.completion_tokens == 1


def test_passed_through_upstream_error_keeps_its_param(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().completions.create(model=INSTRUCT, prompt="x", echo=True, logprobs=1)
    assert "echo" in caught.value.message
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"]) == ("upstream_error", 400)


def test_passed_through_stream_failing_midway_ends_with_an_error_event(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(" a b c d", error_after=2)
    with gateway.http() as http:
        response = http.post(
            "/completions", json={"model": INSTRUCT, "prompt": "go", "stream": True}
        )
    payloads, last = sse_payloads(response.text + "\n\n")
    assert last.startswith("data: {") and json.loads(last[6:])["error"]["type"] == "upstream_error"
    assert "".join(p["choices"][0]["text"] for p in payloads) == " a b"
    [row] = gateway.ledger()
    assert (row["status"], row["usage_estimated"]) == ("interrupted", True)
    assert row["completion_tokens"] > 0


def test_a_completions_only_model_is_not_a_chat_model(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().chat.completions.create(
            model=INSTRUCT, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.code == "model_not_supported"


@pytest.mark.parametrize("model", [INSTRUCT, CHAT_MODEL])
def test_client_leaving_a_stream_cancels_the_upstream_call_and_meters_what_was_sent(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, model: str
) -> None:
    fake_openai.reply(" a b c d e f g h", hang_after=3)
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            f"{gateway.base_url}/completions",
            json={"model": model, "prompt": "go on", "stream": True},
            headers={"Authorization": f"Bearer {gateway.key}"},
        ) as response,
    ):
        assert next(response.iter_lines()).startswith("data: ")
    assert fake_openai.wait_for_disconnect(timeout=5)
    assert wait_for(lambda: len(gateway.ledger()) == 1)
    [row] = gateway.ledger()
    assert (row["endpoint"], row["status"], row["http_status"]) == (
        "completions",
        "client_disconnected",
        499,
    )
    assert row["usage_estimated"] is True and row["prompt_tokens"] > 0


def test_one_failing_prompt_of_a_list_fails_the_request(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("fine")
    fake_openai.fail(500)
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.client().completions.create(model=CHAT_MODEL, prompt=["one", "two"])
    assert caught.value.status_code == 502
    assert caught.value.type == "upstream_error"
    [row] = gateway.ledger()
    assert (row["status"], row["messages"]) == ("upstream_error", 0)


def test_a_list_of_prompts_on_a_chat_model_is_one_chat_call_each(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    stream = gateway.client().completions.create(
        model=CHAT_MODEL,
        prompt=["alpha beta", "gamma"],
        stream=True,
        stream_options={"include_usage": True},
    )
    *chunks, usage_chunk = list(stream)
    texts: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + choice.text
    assert texts == {0: "alpha beta", 1: "gamma"}  # the fake echoes the user message
    assert sorted(r.body["messages"][0]["content"] for r in fake_openai.requests) == [
        "alpha beta",
        "gamma",
    ]
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (3, 3)


# ------------------------------------------------------------------------------- the contract

OFFICIAL_REQUEST = {
    "model": "gpt-3.5-turbo-instruct",
    "prompt": [[1212, 318, 257, 1332, 13]],
    "best_of": 2,
    "echo": False,
    "frequency_penalty": 0.5,
    "logit_bias": {"50256": -100},
    "logprobs": 5,
    "max_tokens": 7,
    "n": 2,
    "presence_penalty": -0.5,
    "seed": 42,
    "stop": ["\n", "END"],
    "stream": True,
    "stream_options": {"include_usage": True},
    "suffix": "test.",
    "temperature": 0,
    "top_p": 1,
    "user": "user-1234",
}


def test_official_requests_and_unknown_fields_are_accepted_by_our_schema() -> None:
    if REFERENCE.exists():
        assert errors("CreateCompletionRequest", OFFICIAL_REQUEST, official=True) == []
    assert errors("CreateCompletionRequest", OFFICIAL_REQUEST) == []
    nulls = {key: None for key in OFFICIAL_REQUEST if key not in ("model", "prompt")}
    assert errors("CreateCompletionRequest", {"model": "m", "prompt": None, **nulls}) == []
    assert errors("CreateCompletionRequest", {"model": "m", "prompt": "x", "future": 1}) == []


def test_stream_chunks_with_and_without_a_finish_reason_match_our_schema() -> None:
    chunk = {
        "id": "cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": "This", "index": 0, "logprobs": None, "finish_reason": None}],
        "model": "gpt-3.5-turbo-instruct",
        "system_fingerprint": "fp_44709d6fcb",
    }
    assert errors("CreateCompletionStreamResponse", chunk) == []
    last = {**chunk, "choices": [{**chunk["choices"][0], "finish_reason": "length"}]}
    assert errors("CreateCompletionStreamResponse", last) == []
    usage = {
        **chunk,
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    assert errors("CreateCompletionStreamResponse", usage) == []
    wrong = {**chunk, "choices": [{**chunk["choices"][0], "finish_reason": "tool_calls"}]}
    assert errors("CreateCompletionStreamResponse", wrong) != []
    assert (
        errors("CreateCompletionStreamResponse", {**chunk, "object": "chat.completion.chunk"}) != []
    )
