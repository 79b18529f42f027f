"""The fake Gemini upstream is faithful: the official `google-genai` SDK, pointed at it, reads
its answers, streams, function calls, usage and errors as it reads Google's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_upstream import FakeGeminiUpstream

KEY = "AIza-fake-key-for-tests"
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGeminiUpstream]:
    fake = FakeGeminiUpstream(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(server: FakeGeminiUpstream) -> FakeGeminiUpstream:
    server.reset()
    return server


def client(fake: FakeGeminiUpstream, key: str = KEY, version: str = "v1beta") -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, api_version=version)
    return genai.Client(api_key=key, http_options=options)


def test_generate_content_text_and_usage(fake: FakeGeminiUpstream) -> None:
    fake.reply(
        "Hello there friend",
        prompt_tokens=40,
        candidates_tokens=3,
        cached_tokens=30,
        thoughts_tokens=5,
        thought="Greeting.",
    )
    config = types.GenerateContentConfig(
        system_instruction="Be brief.",
        max_output_tokens=50,
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True),
    )
    sdk = client(fake)
    response = sdk.models.generate_content(model=MODEL, contents="Hi", config=config)
    assert response.text == "Hello there friend"
    parts = response.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text == "Greeting."
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (40, 3)
    assert (usage.cached_content_token_count, usage.thoughts_token_count) == (30, 5)
    assert usage.total_token_count == 48
    [request] = fake.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    # The SDK sends some nested fields in snake_case; Google's proto-JSON parser takes both.
    assert request.body["generationConfig"]["thinkingConfig"]["thinking_budget"] == 1024


def test_stream_is_sse_with_incremental_text_and_final_usage(fake: FakeGeminiUpstream) -> None:
    fake.reply("one two three", prompt_tokens=4)
    sdk = client(fake)
    chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="count"))
    assert "".join(c.text or "" for c in chunks) == "one two three"
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.candidates_token_count == 3
    request = fake.requests[-1]
    assert request.path.endswith(":streamGenerateContent") and request.query == "alt=sse"


def test_stream_framing_is_crlf_without_done(fake: FakeGeminiUpstream) -> None:
    fake.reply("a b")
    with httpx.Client(base_url=fake.base_url) as http:
        response = http.post(
            f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
            json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
            headers={"x-goog-api-key": KEY},
        )
    assert response.headers["content-type"] == "text/event-stream"
    assert response.text.count("\r\n\r\n") == 2 and "[DONE]" not in response.text
    assert all(line.startswith("data: ") for line in response.text.split("\r\n") if line)


def test_function_calls_arrive_whole(fake: FakeGeminiUpstream) -> None:
    fake.reply(function_calls=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                },
            )
        ]
    )
    config = types.GenerateContentConfig(
        tools=[tool],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    sdk = client(fake)
    response = sdk.models.generate_content(model=MODEL, contents="Hi", config=config)
    calls = response.function_calls
    assert [(c.name, c.args) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert response.candidates[0].content.parts[0].thought_signature
    declared = fake.requests[-1].body["tools"][0]["functionDeclarations"][0]
    assert declared["parameters_json_schema"]["properties"] == {"city": {"type": "string"}}


def test_streamed_function_call_is_one_event(fake: FakeGeminiUpstream) -> None:
    fake.reply("Checking.", function_calls=[("get_weather", {"city": "Rome"})])
    sdk = client(fake)
    chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="Hi"))
    with_calls = [c for c in chunks if c.function_calls]
    assert len(with_calls) == 1 and with_calls[0].function_calls[0].args == {"city": "Rome"}


def test_blocked_prompt_has_prompt_feedback_and_no_candidates(fake: FakeGeminiUpstream) -> None:
    fake.reply(block_reason="SAFETY")
    sdk = client(fake)
    response = sdk.models.generate_content(model=MODEL, contents="bad")
    assert not response.candidates
    assert response.prompt_feedback.block_reason == types.BlockedReason.SAFETY


def test_v1_paths_are_served_too(fake: FakeGeminiUpstream) -> None:
    sdk = client(fake, version="v1")
    response = sdk.models.generate_content(model=MODEL, contents="echo me")
    assert response.text == "echo me"
    assert fake.requests[-1].version == "v1"


@pytest.mark.parametrize(
    ("status", "exception", "google_status"),
    [
        (400, errors.ClientError, "INVALID_ARGUMENT"),
        (404, errors.ClientError, "NOT_FOUND"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
    ],
)
def test_errors_use_googles_envelope(
    fake: FakeGeminiUpstream, status: int, exception: type, google_status: str
) -> None:
    fake.fail(status)
    sdk = client(fake)
    with pytest.raises(exception) as caught:
        sdk.models.generate_content(model=MODEL, contents="Hi")
    assert caught.value.code == status
    assert caught.value.status == google_status
    assert caught.value.message


def test_wrong_key_is_400_api_key_invalid(fake: FakeGeminiUpstream) -> None:
    sdk = client(fake, key="AIza-wrong")
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(model=MODEL, contents="Hi")
    assert caught.value.code == 400
    assert "API key not valid" in caught.value.message
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_key_in_query_is_accepted(fake: FakeGeminiUpstream) -> None:
    with httpx.Client(base_url=fake.base_url) as http:
        response = http.post(
            f"/v1beta/models/{MODEL}:generateContent?key={KEY}",
            json={"contents": [{"role": "user", "parts": [{"text": "hey"}]}]},
        )
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "hey"}]
