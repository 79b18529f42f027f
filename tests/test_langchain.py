"""End to end with LangChain's `ChatOpenAI` (langchain-openai) pointed at the gateway with
`base_url` and `api_key`: invoke, stream and a tool round trip on the offline
`writingmate/echo` model, as a LangChain user sees them (messages, chunks, usage metadata)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import Gateway
from tests.offline_gateway import offline_gateway

langchain_openai = pytest.importorskip("langchain_openai")
messages = pytest.importorskip("langchain_core.messages")
tools = pytest.importorskip("langchain_core.tools")


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Gateway]:
    with offline_gateway(tmp_path_factory.mktemp("langchain"), migrated_template) as running:
        yield running


def chat_model(gateway: Gateway, **options: Any) -> Any:
    """As the README shows it; `stream_usage=True` because LangChain asks for a stream's usage
    only from OpenAI's own address by default."""
    return langchain_openai.ChatOpenAI(
        model="writingmate/echo",
        base_url=gateway.base_url,
        api_key=gateway.key,
        stream_usage=True,
        max_retries=0,
        **options,
    )


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


def test_invoke_answers_with_the_echo_and_usage_metadata(gw: Gateway) -> None:
    answer = chat_model(gw).invoke("Hello from LangChain!")
    assert answer.content == "Hello from LangChain!"
    assert answer.usage_metadata["input_tokens"] == answer.usage_metadata["output_tokens"] == 4
    assert answer.response_metadata["model_name"] == "writingmate/echo"
    assert answer.response_metadata["finish_reason"] == "stop"


def test_stream_yields_several_chunks_that_add_up_to_the_answer_and_its_usage(
    gw: Gateway,
) -> None:
    chunks = list(chat_model(gw).stream("Stream these few words back"))
    assert len([chunk for chunk in chunks if chunk.content]) > 3
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.content == "Stream these few words back"
    assert (whole.usage_metadata["input_tokens"], whole.usage_metadata["output_tokens"]) == (5, 5)


def test_a_bound_tool_is_called_and_its_result_answered(gw: Gateway) -> None:
    model = chat_model(gw).bind_tools([tools.tool(get_weather)])
    question = messages.HumanMessage('Call get_weather with {"city": "Paris"}')
    asked = model.invoke([question])
    [call] = asked.tool_calls
    assert (call["name"], call["args"]) == ("get_weather", {"city": "Paris"})
    assert call["id"].startswith("call_")
    result = messages.ToolMessage(get_weather(**call["args"]), tool_call_id=call["id"])
    answer = model.invoke([question, asked, result])
    assert answer.content == "Tool result: Sunny in Paris"
    assert answer.tool_calls == []


def test_a_wrong_key_raises_the_openai_sdks_authentication_error(gw: Gateway) -> None:
    model = langchain_openai.ChatOpenAI(
        model="writingmate/echo", base_url=gw.base_url, api_key="wm_v2.nope", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as raised:
        model.invoke("Hi")
    assert raised.value.code == "invalid_api_key"
