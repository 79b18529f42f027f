"""`writingmate/echo` honours a request's limits and options: token limits, stop sequences, JSON
response formats and `n`."""

from __future__ import annotations

import json

import pytest

from tests.echo_model_helpers import content_of, finish_of, stream, tokens, usage_of, user


@pytest.mark.parametrize(
    ("limits", "text", "finish", "completion"),
    [
        pytest.param({"max_tokens": 3}, "one two three", "length", 3, id="max_tokens"),
        pytest.param(
            {"max_completion_tokens": 2}, "one two", "length", 2, id="max_completion_tokens"
        ),
        pytest.param(
            {"max_completion_tokens": 4, "max_tokens": 1},
            "one two three four",
            "length",
            4,
            id="max_completion_tokens wins over max_tokens",
        ),
        pytest.param({"max_tokens": 1}, "one", "length", 1, id="a limit of one"),
        pytest.param(
            {"max_tokens": 5},
            "one two three four five",
            "stop",
            5,
            id="exactly at the limit is not truncated",
        ),
        pytest.param(
            {"max_tokens": 100}, "one two three four five", "stop", 5, id="under the limit"
        ),
    ],
)
async def test_token_limit_truncates_with_finish_reason_length(limits, text, finish, completion):
    chunks = await stream({"messages": [user("one two three four five")], **limits})
    assert content_of(chunks) == text
    assert finish_of(chunks) == finish
    assert usage_of(chunks)["completion_tokens"] == completion


async def test_token_limit_counts_punctuation_as_tokens():
    chunks = await stream({"messages": [user("Hi, there! Bye.")], "max_tokens": 2})
    assert content_of(chunks) == "Hi,"
    assert finish_of(chunks) == "length"


@pytest.mark.parametrize(
    ("stop", "text"),
    [
        pytest.param(".", "Hello world", id="string"),
        pytest.param(["Bye", "world"], "Hello ", id="list: earliest stop wins"),
        pytest.param(["zzz"], "Hello world. Bye", id="absent stop changes nothing"),
        pytest.param(None, "Hello world. Bye", id="null"),
    ],
)
async def test_stop_sequences_cut_the_text(stop, text):
    chunks = await stream({"messages": [user("Hello world. Bye")], "stop": stop})
    assert content_of(chunks) == text
    assert finish_of(chunks) == "stop"
    assert usage_of(chunks)["completion_tokens"] == tokens(text)


@pytest.mark.parametrize("kind", ["json_object", "json_schema"])
async def test_json_response_format_gives_valid_json(kind):
    chunks = await stream(
        {"messages": [user('Say "hi"\nplease')], "response_format": {"type": kind}}
    )
    assert json.loads(content_of(chunks)) == {"echo": 'Say "hi"\nplease'}


async def test_n_two_gives_two_identical_choices():
    chunks = await stream({"messages": [user("Two answers, please")], "n": 2})
    assert chunks[0]["choices"] == [
        {
            "index": i,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
        for i in (0, 1)
    ]
    for chunk in chunks[:-1]:
        assert [c["index"] for c in chunk["choices"]] == [0, 1]
    assert content_of(chunks, 0) == content_of(chunks, 1) == "Two answers, please"
    assert finish_of(chunks, 0) == finish_of(chunks, 1) == "stop"
    usage = usage_of(chunks)
    assert usage["prompt_tokens"] == 4
    assert usage["completion_tokens"] == 2 * 4
