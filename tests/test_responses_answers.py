"""`POST /responses` answered whole, through the gateway with the official OpenAI SDK: output and
usage on the offline echo model and translated from the fake OpenAI upstream (which only speaks
Chat Completions), `max_output_tokens`, structured output, and the errors a request can get."""

from __future__ import annotations

from typing import Any

import openai
import pydantic
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.responses_helpers import ECHO, OPENAI, raw_events
from tests.spec_helpers import errors

# ---------------------------------------------------------------------------- plain answers


def test_create_answers_with_output_text_usage_and_one_ledger_row(gateway: Gateway) -> None:
    raw = gateway.client().responses.with_raw_response.create(
        model=ECHO, input="Hello there, gateway!", metadata={"team": "a"}
    )
    response = raw.parse()
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.completed_at is not None
    assert response.output_text == "Hello there, gateway!"
    [message] = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.status == "completed" and message.role == "assistant"
    assert (response.model, response.metadata, response.store) == (ECHO, {"team": "a"}, True)
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (5, 5, 10)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["endpoint"], row["model"], row["status"]) == ("responses", ECHO, "completed")
    assert (row["prompt_tokens"], row["completion_tokens"], row["messages"]) == (5, 5, 1)


def test_response_matches_openais_published_schema(gateway: Gateway) -> None:
    with gateway.http() as http:
        body = http.post(
            "/responses",
            json={"model": ECHO, "input": "check my shape", "instructions": "Be brief."},
        ).json()
    assert errors("Response", body, official=True) == []
    assert errors("Response", body) == []
    assert body["instructions"] == "Be brief."


def test_instructions_and_input_items_reach_the_upstream_as_chat_messages(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("Bonjour", prompt_tokens=12, completion_tokens=1)
    response = gateway.client().responses.create(
        model=OPENAI,
        instructions="Answer in French.",
        input=[
            {"role": "developer", "content": "Be polite."},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            },
        ],
        max_output_tokens=100,
        temperature=0.5,
        reasoning={"effort": "low"},
    )
    assert response.output_text == "Bonjour"
    [request] = fake_openai.requests
    assert request.body["model"] == "gpt-5-mini"
    assert request.body["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "developer", "content": "Be polite."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"},
                },
            ],
        },
    ]
    assert request.body["max_completion_tokens"] == 100
    assert request.body["temperature"] == 0.5
    assert request.body["reasoning_effort"] == "low"


def test_upstream_cached_and_reasoning_tokens_are_reported_in_responses_terms(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply(
        "ok", prompt_tokens=100, completion_tokens=30, cached_tokens=60, reasoning_tokens=20
    )
    usage = gateway.client().responses.create(model=OPENAI, input="Hi").usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 30, 130)
    assert usage.input_tokens_details.cached_tokens == 60
    assert usage.output_tokens_details.reasoning_tokens == 20
    assert gateway.ledger()[0]["cached_tokens"] == 60


# ---------------------------------------------------------------------------- limits


def test_max_output_tokens_makes_the_response_incomplete(gateway: Gateway) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    response = gateway.client().responses.create(model=ECHO, input=words, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert response.usage.output_tokens == 16
    assert response.completed_at is None


def test_streamed_max_output_tokens_ends_with_response_incomplete(gateway: Gateway) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    events = raw_events(gateway, {"model": ECHO, "input": words, "max_output_tokens": 16})
    name, last = events[-1]
    assert name == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert errors("ResponseStreamEvent", last, official=True) == []


# ---------------------------------------------------------------------------- structured output


class Echoed(pydantic.BaseModel):
    echo: str


def test_text_format_json_schema_parses_with_the_sdk(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    parsed = gateway.client().responses.parse(model=ECHO, input="Hi there", text_format=Echoed)
    assert parsed.output_parsed == Echoed(echo="Hi there")
    assert parsed.text.format.type == "json_schema"
    fake_openai.reply('{"echo": "from upstream"}')
    upstream = gateway.client().responses.parse(model=OPENAI, input="Hi", text_format=Echoed)
    assert upstream.output_parsed == Echoed(echo="from upstream")
    response_format = fake_openai.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Echoed"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["echo"]


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": ECHO, "input": "x", "temperature": 5}, "temperature"),
        ({"model": ECHO, "input": "x", "max_output_tokens": 3}, "max_output_tokens"),
        (
            {"model": ECHO, "input": "x", "previous_response_id": "resp_nope"},
            "previous_response_id",
        ),
    ],
)
def test_invalid_request_is_a_400_naming_the_param(
    gateway: Gateway, body: dict[str, Any], param: str
) -> None:
    with gateway.http() as http:
        response = http.post("/responses", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_unknown_model_is_a_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().responses.create(model="nobody/nothing", input="x")
    assert caught.value.code == "model_not_found"


def test_exhausted_daily_limit_is_429(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(daily_limit=1)
    raw = gateway.client().responses.with_raw_response.create(model=ECHO, input="one")
    assert raw.headers["x-writingmate-messages-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        gateway.client().responses.create(model=ECHO, input="two")
    assert caught.value.code == "insufficient_quota"


def test_method_not_allowed_lists_every_method_of_the_path(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.request("PUT", "/responses/resp_abc")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
