"""Legacy completions on chat models (OpenAI's on the fake upstream), translated through the
chat API: the prompt as one user message, streams, finish reasons, failures, one chat call per
prompt, and the options a chat model cannot honour."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.completions_helpers import CHAT_MODEL
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream


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
