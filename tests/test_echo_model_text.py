"""`writingmate/echo`, the built-in offline model, answers text: it echoes the last user message
in several chunks, in the chat stream's shape, and reports exact usage (tokens are words and
punctuation marks: `\\w+|[^\\w\\s]`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.echo_model_helpers import content_of, finish_of, stream, tokens, usage_of, user


async def test_echoes_the_last_user_message():
    chunks = await stream(
        {
            "messages": [
                {"role": "system", "content": "Be terse."},
                user("first question"),
                {"role": "assistant", "content": "first answer"},
                user("Hello, world! How are you?"),
            ]
        }
    )
    assert content_of(chunks) == "Hello, world! How are you?"
    assert finish_of(chunks) == "stop"


async def test_text_arrives_in_several_chunks():
    chunks = await stream({"messages": [user("one two three four")]})
    pieces = [
        c["choices"][0]["delta"]["content"]
        for c in chunks[1:]
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert len(pieces) == 4
    assert "".join(pieces) == "one two three four"


async def test_stream_shape_role_first_then_content_finish_and_usage_last():
    chunks = await stream({"messages": [user("Hi there")]})
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert chunks[-2]["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert chunks[-1]["choices"] == []
    assert "usage" not in chunks[0] and "usage" not in chunks[-2]
    for middle in chunks[1:-2]:
        assert middle["choices"][0]["finish_reason"] is None


async def test_usage_counts_words_and_punctuation_exactly():
    messages = [
        {"role": "system", "content": "You are helpful."},
        user("What's 2+2?"),
        {"role": "assistant", "content": "4."},
        user("Thanks, and 3+3?"),
    ]
    chunks = await stream({"messages": messages})
    prompt = (
        tokens("You are helpful.")
        + tokens("What's 2+2?")
        + tokens("4.")
        + tokens("Thanks, and 3+3?")
    )
    completion = tokens("Thanks, and 3+3?")
    assert (prompt, completion) == (20, 7)
    assert usage_of(chunks) == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


async def test_content_parts_are_read_as_text():
    chunks = await stream(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe"},
                        {"type": "text", "text": "this."},
                    ],
                }
            ]
        }
    )
    assert content_of(chunks) == "Describe this."
    assert usage_of(chunks)["prompt_tokens"] == 3


async def test_an_empty_message_gets_a_placeholder_answer():
    chunks = await stream({"messages": [user("")]})
    assert content_of(chunks) == "(empty message)"


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1).filter(lambda t: not t[0].isspace()))
async def test_echo_and_usage_for_any_text(text):
    chunks = await stream({"messages": [user(text)]})
    assert content_of(chunks) == text
    assert usage_of(chunks)["prompt_tokens"] == tokens(text)
    assert usage_of(chunks)["completion_tokens"] == tokens(text)


async def test_echo_keeps_leading_whitespace():
    chunks = await stream({"messages": [user("  indented code")]})
    assert content_of(chunks) == "  indented code"


async def test_same_request_gives_the_same_text_and_usage():
    body = {"messages": [user("Deterministic, please: 1, 2, 3.")], "max_tokens": 5}
    first, second = await stream(body), await stream(body)
    assert content_of(first) == content_of(second)
    assert usage_of(first) == usage_of(second)
    assert first == second
