"""Legacy completions (`POST /completions`) on the offline echo model, translated through the
chat API, with the official OpenAI SDK: text, usage and the ledger, `max_tokens`, `stop`,
`echo`, lists of prompts, streams with and without usage, and what only a deterministic model
can honour (`suffix`, `best_of`, token prompts, logprobs with the prompt echoed)."""

from __future__ import annotations

from tests.completions_helpers import ECHO, sse_payloads
from tests.conftest import Gateway


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
