"""Gemini 3 tool loops through the gateway: the thought signature Gemini puts on a step's
function call comes back on our tool call (`extra_content.google.thought_signature`, as in
Google's own OpenAI-compatible API), rides back with the assistant message as OpenAI clients
send it, and is put back on the `functionCall` part. The fake Gemini refuses a `gemini-3`
conversation whose current step lost it, as Gemini 3 does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from gateway.settings import REPO_ROOT
from tests.conftest import GEMINI_KEY, Gateway
from tests.fakes.gemini_upstream import FakeGeminiUpstream

GEMINI_3 = "google/gemini-3-pro-preview"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ASK = {"role": "user", "content": "Weather in Rome?"}
PLACEHOLDER = "skip_thought_signature_validator"


@pytest.fixture
def gateway(
    start_gateway: Callable[..., Gateway], fake_gemini: FakeGeminiUpstream, tmp_path: Path
) -> Gateway:
    """The shipped catalog with a Gemini 3 model, on the fake Gemini upstream."""
    document = yaml.safe_load((REPO_ROOT / "catalog.yaml").read_text())
    document["models"].append(
        {
            "slug": GEMINI_3,
            "max_output_tokens": 65536,
            "provider": "google",
            "upstream_id": "gemini-3-pro-preview",
            "created": 1763424000,
            "owned_by": "google",
            "capabilities": ["chat", "streaming", "tools", "reasoning"],
            "plans": ["*"],
        }
    )
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(document))
    assert fake_gemini.base_url
    env = {
        "WMGW_GEMINI_API_KEY": GEMINI_KEY,
        "WMGW_GEMINI_BASE_URL": fake_gemini.base_url,
        "WMGW_CATALOG": str(catalog),
    }
    return start_gateway(env=env)


def signature_of(call: Any) -> str:
    return (call.model_extra or {})["extra_content"]["google"]["thought_signature"]


def sent_back_parts(fake: FakeGeminiUpstream) -> list[dict[str, Any]]:
    """The `functionCall` parts of the last request to the fake."""
    contents = fake.requests[-1].body["contents"]
    return [p for c in contents for p in c["parts"] if "functionCall" in p]


def test_a_gemini_3_tool_loop_sends_the_signature_back(
    gateway: Gateway, fake_gemini: FakeGeminiUpstream
) -> None:
    fake_gemini.reply(function_calls=[("get_weather", {"city": "Rome"}), ("get_time", {})])
    client = gateway.client()
    first = client.chat.completions.create(model=GEMINI_3, messages=[ASK], tools=[WEATHER])
    message = first.choices[0].message
    calls = message.tool_calls or []
    signature = signature_of(calls[0])
    assert signature in fake_gemini.signatures
    assert "extra_content" not in (calls[1].model_extra or {})  # Gemini signs a step's first call

    fake_gemini.reply("It is 18 degrees in Rome.")
    # As OpenAI clients do: the assistant message goes back as the SDK parsed it.
    results = [{"role": "tool", "tool_call_id": c.id, "content": '{"ok": true}'} for c in calls]
    second = client.chat.completions.create(
        model=GEMINI_3,
        messages=[ASK, message, *results],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.choices[0].message.content == "It is 18 degrees in Rome."
    parts = sent_back_parts(fake_gemini)
    assert [p.get("thoughtSignature") for p in parts] == [signature, None]


def test_a_streamed_gemini_3_tool_call_carries_its_signature_too(
    gateway: Gateway, fake_gemini: FakeGeminiUpstream
) -> None:
    fake_gemini.reply(function_calls=[("get_weather", {"city": "Rome"})])
    client = gateway.client()
    stream = client.chat.completions.create(
        model=GEMINI_3, messages=[ASK], tools=[WEATHER], stream=True
    )
    [delta] = [
        c.choices[0].delta.tool_calls[0]
        for c in stream
        if c.choices and c.choices[0].delta.tool_calls
    ]  # type: ignore[index]
    signature = signature_of(delta)
    assert delta.function is not None and delta.id
    call = {
        "id": delta.id,
        "type": "function",
        "function": {"name": delta.function.name, "arguments": delta.function.arguments},
        "extra_content": (delta.model_extra or {})["extra_content"],
    }
    fake_gemini.reply("Sunny.")
    answer = client.chat.completions.create(
        model=GEMINI_3,
        messages=[
            ASK,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": delta.id, "content": "sunny"},
        ],
        tools=[WEATHER],
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in answer if c.choices) == "Sunny."
    assert [p.get("thoughtSignature") for p in sent_back_parts(fake_gemini)] == [signature]


def lost_signature_history(fake: FakeGeminiUpstream) -> list[dict[str, Any]]:
    """A history whose tool call has no signature (begun on another model, or a client that
    dropped `extra_content`)."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": "Rome"})},
    }
    return [
        ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


def test_a_gemini_3_step_whose_signature_was_lost_gets_googles_placeholder(
    gateway: Gateway, fake_gemini: FakeGeminiUpstream
) -> None:
    fake_gemini.reply("Sunny.")
    answer = gateway.client().chat.completions.create(
        model=GEMINI_3, messages=lost_signature_history(fake_gemini), tools=[WEATHER]
    )
    assert answer.choices[0].message.content == "Sunny."
    assert [p.get("thoughtSignature") for p in sent_back_parts(fake_gemini)] == [PLACEHOLDER]


def test_older_gemini_models_get_no_placeholder(
    gateway: Gateway, fake_gemini: FakeGeminiUpstream
) -> None:
    fake_gemini.reply("Sunny.")
    gateway.client().chat.completions.create(
        model="google/gemini-2.5-flash", messages=lost_signature_history(fake_gemini)
    )
    assert [p.get("thoughtSignature") for p in sent_back_parts(fake_gemini)] == [None]


def test_a_signature_gemini_did_not_issue_is_its_400(
    gateway: Gateway, fake_gemini: FakeGeminiUpstream
) -> None:
    history = lost_signature_history(fake_gemini)
    history[1]["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": "forged"}}
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().chat.completions.create(model=GEMINI_3, messages=history)
    assert "thought signature" in caught.value.message
