"""What legacy completions answers and refusals look like whatever the model: OpenAI's published
response schema, the 400, 404 and 429 envelopes, and the request and stream chunk schemas."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.completions_helpers import CHAT_MODEL, ECHO, INSTRUCT
from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.spec_helpers import REFERENCE, errors


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
