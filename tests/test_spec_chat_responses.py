"""The chat completion response and stream chunk schemas have exactly OpenAI's shapes: realistic
completions and chunks are accepted, anything else is rejected, and a completion the SDK echoes
back as history is a valid request."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.spec_helpers import SDK_HISTORY, errors

COMPLETION_WITH_TOOL_CALLS = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "openai/gpt-5-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}

TEXT_COMPLETION = {
    "id": "chatcmpl-2",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "writingmate/echo",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


@pytest.mark.parametrize(
    "body", [COMPLETION_WITH_TOOL_CALLS, TEXT_COMPLETION], ids=["tool calls", "text"]
)
def test_realistic_completions_are_accepted(body):
    assert errors("CreateChatCompletionResponse", body) == []


def _completion(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(TEXT_COMPLETION)
    body.update(changes)
    return body


def _completion_choice(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(TEXT_COMPLETION)
    body["choices"][0].update(changes)
    return body


BAD_COMPLETIONS = {
    "without usage": {k: v for k, v in TEXT_COMPLETION.items() if k != "usage"},
    "chunk object": _completion(object="chat.completion.chunk"),
    "finish_reason error": _completion_choice(finish_reason="error"),
    "finish_reason null": _completion_choice(finish_reason=None),
    "system_fingerprint null (OpenAI's is a string)": _completion(system_fingerprint=None),
    "without logprobs": {
        **TEXT_COMPLETION,
        "choices": [{k: v for k, v in TEXT_COMPLETION["choices"][0].items() if k != "logprobs"}],
    },
    "message without refusal": _completion_choice(message={"role": "assistant", "content": "Hi"}),
    "message from the user": _completion_choice(
        message={"role": "user", "content": "Hi", "refusal": None}
    ),
    "tool call with numeric id": _completion_choice(
        message={
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {"id": 1, "type": "function", "function": {"name": "f", "arguments": ""}}
            ],
        }
    ),
    "usage without total_tokens": _completion(usage={"prompt_tokens": 1, "completion_tokens": 1}),
}


@pytest.mark.parametrize("body", BAD_COMPLETIONS.values(), ids=BAD_COMPLETIONS.keys())
def test_completions_not_shaped_like_openai_are_rejected(body):
    assert errors("CreateChatCompletionResponse", body) != []


def test_sdk_parsed_completion_echoed_back_as_history_is_accepted():
    from openai.types.chat import ChatCompletion

    message = ChatCompletion.model_validate(COMPLETION_WITH_TOOL_CALLS).choices[0].message
    for echoed in (
        message.model_dump(mode="json"),  # every field, unset ones as null
        message.model_dump(mode="json", exclude_unset=True),  # what the SDK itself sends
    ):
        history = [*SDK_HISTORY[:2], echoed, SDK_HISTORY[3]]
        body = {"model": "openai/gpt-5-mini", "messages": history}
        assert errors("CreateChatCompletionRequest", body) == []


def _chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "openai/gpt-5-mini",
        "choices": choices,
        "usage": usage,
    }


def _delta(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]


def _tool_delta(**call: Any) -> list[dict[str, Any]]:
    return _delta({"tool_calls": [call]})


USAGE = {
    "prompt_tokens": 5,
    "completion_tokens": 2,
    "total_tokens": 7,
    "prompt_tokens_details": {"cached_tokens": 0},
}

GOOD_CHUNKS = {
    "first chunk with role": _chunk(_delta({"role": "assistant", "content": ""})),
    "content fragment": _chunk(_delta({"content": "Hel"})),
    "reasoning fragment (extension)": _chunk(_delta({"reasoning_content": "Thinking"})),
    "first tool-call delta": _chunk(
        _tool_delta(
            index=0, id="call_1", type="function", function={"name": "get_weather", "arguments": ""}
        )
    ),
    "later tool-call fragment": _chunk(_tool_delta(index=0, function={"arguments": '{"city"'})),
    "second parallel tool call": _chunk(
        _tool_delta(index=1, id="call_2", type="function", function={"name": "f", "arguments": ""})
    ),
    "finish chunk": _chunk(_delta({}, "tool_calls")),
    "usage chunk with empty choices": _chunk([], USAGE),
    "chunk without usage or logprobs": {
        k: v
        for k, v in _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]).items()
        if k != "usage"
    },
}


@pytest.mark.parametrize("chunk", GOOD_CHUNKS.values(), ids=GOOD_CHUNKS.keys())
def test_realistic_stream_chunks_are_accepted(chunk):
    assert errors("CreateChatCompletionStreamResponse", chunk) == []


BAD_CHUNKS = {
    "finish_reason error": _chunk(_delta({}, "error")),
    "finish_reason empty string": _chunk(_delta({}, "")),
    "tool-call delta without index": _chunk(
        _delta({"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f"}}]})
    ),
    "tool-call delta with numeric id": _chunk(_tool_delta(index=0, id=1)),
    "choice without finish_reason": _chunk([{"index": 0, "delta": {"content": "x"}}]),
    "completion object": {**_chunk(_delta({"content": "x"})), "object": "chat.completion"},
    "usage without total_tokens": _chunk([], {"prompt_tokens": 5, "completion_tokens": 2}),
    "without id": {k: v for k, v in _chunk(_delta({})).items() if k != "id"},
}


@pytest.mark.parametrize("chunk", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_stream_chunks_not_shaped_like_openai_are_rejected(chunk):
    assert errors("CreateChatCompletionStreamResponse", chunk) != []
