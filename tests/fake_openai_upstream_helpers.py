"""What the tests of the fake OpenAI upstream share: one fake per test module, reset before every
test, the official SDK's clients pointed at it, and the conversation they send.

tests/conftest.py registers this module as a plugin, so its fixtures reach those tests by name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest
import pytest_asyncio
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from tests.fakes.openai_upstream import FakeOpenAIUpstream

API_KEY = "sk-test-upstream-0123456789abcdef"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather in Paris?"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


# ---------------------------------------------------------------------------------------------
# Fixtures: one server per module, state reset before every test.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeOpenAIUpstream, str]]:
    fake = FakeOpenAIUpstream(API_KEY)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeOpenAIUpstream, str]) -> FakeOpenAIUpstream:
    upstream[0].reset()
    return upstream[0]


@pytest.fixture
def base_url(upstream: tuple[FakeOpenAIUpstream, str]) -> str:
    return f"{upstream[1]}/v1"


@pytest.fixture
def client(fake: FakeOpenAIUpstream, base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as sdk:
        yield sdk


@pytest_asyncio.fixture
async def aclient(fake: FakeOpenAIUpstream, base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as sdk:
        yield sdk
