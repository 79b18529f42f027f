"""Legacy completions through a chat API (`providers/legacy_completions.py`): what a chat model is
asked, and how its answers come back as `text_completion` choices."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRequest
from providers import legacy_completions as legacy


def chat_chunk(
    content: str | None = None,
    *,
    index: int = 0,
    finish: str | None = None,
    logprobs: dict[str, Any] | None = None,
    role: bool = False,
) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
    if content is not None:
        delta["content"] = content
    choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
    return {"object": "chat.completion.chunk", "choices": [choice]}


def token(text: str, logprob: float, *alternatives: tuple[str, float]) -> dict[str, Any]:
    return {
        "token": text,
        "logprob": logprob,
        "bytes": list(text.encode()),
        "top_logprobs": [{"token": t, "logprob": p, "bytes": None} for t, p in alternatives],
    }


# ------------------------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [("Hi", ["Hi"]), (["a", "b"], ["a", "b"]), (None, [""]), ("", [""])],
)
def test_prompts_are_text(prompt: Any, expected: list[str]) -> None:
    assert legacy.prompts_of({"prompt": prompt}) == expected


@pytest.mark.parametrize("prompt", [[1, 2, 3], [[1, 2], [3]], [], ["a", 1]])
def test_token_ids_and_empty_lists_are_refused_naming_prompt(prompt: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        legacy.prompts_of({"prompt": prompt})
    assert caught.value.param == "prompt"


def test_prompts_times_n_are_bounded_as_each_prompt_is_a_chat_call() -> None:
    assert len(legacy.prompts_of({"prompt": ["x"] * 64, "n": 2})) == 64
    with pytest.raises(InvalidRequest) as caught:
        legacy.prompts_of({"prompt": ["x"] * 65, "n": 2})
    assert caught.value.param == "prompt"


# ------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"suffix": "end"}, "suffix"),
        ({"best_of": 2}, "best_of"),
        ({"best_of": 1, "n": 2}, "best_of"),
        ({"logprobs": 0}, "logprobs"),
    ],
)
def test_what_a_chat_api_cannot_honour_is_refused(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        legacy.check_translatable(body, logprobs=False)
    assert caught.value.param == param
    assert caught.value.status == 400


def test_logprobs_pass_where_the_chat_api_returns_them_but_never_with_echo() -> None:
    legacy.check_translatable({"logprobs": 3}, logprobs=True)
    with pytest.raises(InvalidRequest) as caught:
        legacy.check_translatable({"logprobs": 3, "echo": True}, logprobs=True)
    assert caught.value.param == "logprobs"


@pytest.mark.parametrize(
    "body",
    [
        {"suffix": None, "best_of": None, "logprobs": None},
        {"suffix": "", "best_of": 2, "n": 2},
        {"echo": True, "n": 3},
    ],
)
def test_nulls_empty_suffix_and_best_of_equal_to_n_are_accepted(body: dict[str, Any]) -> None:
    legacy.check_translatable(body, logprobs=False)


# ----------------------------------------------------------------------------- the request


def test_chat_request_has_the_prompt_as_one_user_message_and_the_sampling_options() -> None:
    body = {
        "model": "m/x",
        "prompt": "ignored here",
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 2,
        "stop": ["\n"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "seed": 7,
        "logit_bias": {"50256": -100},
        "user": "u1",
        "max_tokens": 40,
        "echo": True,
        "stream": True,
        "stream_options": {"include_usage": True},
        "suffix": None,
    }
    assert legacy.chat_request(body, "Once") == {
        "model": "m/x",
        "messages": [{"role": "user", "content": "Once"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 2,
        "stop": ["\n"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "seed": 7,
        "logit_bias": {"50256": -100},
        "user": "u1",
        "max_completion_tokens": 40,
    }


def test_max_tokens_defaults_to_16_and_zero_is_kept() -> None:
    assert legacy.chat_request({"model": "m"}, "x")["max_completion_tokens"] == 16
    assert legacy.chat_request({"model": "m", "max_tokens": 0}, "x")["max_completion_tokens"] == 0


def test_logprobs_become_the_chat_apis_top_logprobs() -> None:
    request = legacy.chat_request({"model": "m", "logprobs": 3}, "x")
    assert (request["logprobs"], request["top_logprobs"]) == (True, 3)
    assert "logprobs" not in legacy.chat_request({"model": "m", "logprobs": None}, "x")


# ------------------------------------------------------------------------------ the answer


def test_chat_logprobs_in_the_legacy_form_with_text_offsets() -> None:
    chat = {"content": [token("Hel", -0.1, ("Hel", -0.1), ("Hi", -2.5)), token("lo", -0.2)]}
    assert legacy.legacy_logprobs(chat, 4) == {
        "tokens": ["Hel", "lo"],
        "token_logprobs": [-0.1, -0.2],
        "top_logprobs": [{"Hel": -0.1, "Hi": -2.5}, {}],
        "text_offset": [4, 7],
    }
    assert legacy.legacy_logprobs(None, 0) is None
    assert legacy.legacy_logprobs({"content": None, "refusal": None}, 0) is None


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "stop"),
        ("function_call", "stop"),
        (None, None),
        ("", None),
    ],
)
def test_finish_reasons_are_the_legacy_ones(reason: str | None, expected: str | None) -> None:
    assert legacy.finish_reason(reason) == expected


def test_stream_chunks_are_renumbered_for_their_prompt_and_role_deltas_dropped() -> None:
    chunks = legacy.TextChunks("prompt", first_index=4, echo=False)
    assert chunks.translate(chat_chunk(role=True)) is None
    assert chunks.translate(chat_chunk("Hi", index=1)) == {
        "object": "text_completion",
        "choices": [{"text": "Hi", "index": 5, "logprobs": None, "finish_reason": None}],
    }
    last = chunks.translate(chat_chunk(index=1, finish="tool_calls"))
    assert last is not None
    assert last["choices"] == [{"text": "", "index": 5, "logprobs": None, "finish_reason": "stop"}]


def test_echo_comes_once_in_front_of_each_choices_first_text() -> None:
    chunks = legacy.TextChunks("Q: ", first_index=0, echo=True)
    texts = []
    for chunk in [
        chat_chunk(role=True),
        chat_chunk("A", index=0),
        chat_chunk("B", index=1),
        chat_chunk("!", index=0),
        chat_chunk(index=1, finish="stop"),
    ]:
        translated = chunks.translate(chunk)
        texts.extend((c["index"], c["text"]) for c in (translated or {}).get("choices", []))
    assert texts == [(0, "Q: "), (0, "A"), (1, "Q: B"), (0, "!"), (1, "")]


def test_streamed_logprobs_offsets_run_on_across_chunks() -> None:
    chunks = legacy.TextChunks("p", first_index=0, echo=False)
    first = chunks.translate(chat_chunk("Hel", logprobs={"content": [token("Hel", -0.1)]}))
    second = chunks.translate(chat_chunk("lo", logprobs={"content": [token("lo", -0.2)]}))
    assert first is not None and second is not None
    assert first["choices"][0]["logprobs"]["text_offset"] == [0]
    assert second["choices"][0]["logprobs"]["text_offset"] == [3]


def test_usage_chunk_is_kept_for_the_caller_to_add_up() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    translated = legacy.TextChunks("p", 0, False).translate(
        {"object": "chat.completion.chunk", "choices": [], "usage": usage}
    )
    assert translated == {"object": "text_completion", "choices": [], "usage": usage}


def test_usages_add_up_with_their_cached_tokens() -> None:
    one = {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 1},
    }
    two = {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}
    assert legacy.add_usage(legacy.add_usage(None, one), two) == {
        "prompt_tokens": 7,
        "completion_tokens": 7,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 1},
    }


def chat_completion(*texts: str | None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "object": "chat.completion",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": "stop" if i else "length",
            }
            for i, text in enumerate(texts)
        ],
        "usage": usage,
        "system_fingerprint": "fp_1",
    }


def test_a_list_of_prompts_becomes_one_text_completion_in_prompt_order() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    answer = legacy.text_completion(
        {"n": 2, "echo": True},
        ["A:", "B:"],
        [chat_completion("a0", "a1", usage=usage), chat_completion("b0", "b1", usage=usage)],
    )
    assert [(c["index"], c["text"], c["finish_reason"]) for c in answer["choices"]] == [
        (0, "A:a0", "length"),
        (1, "A:a1", "stop"),
        (2, "B:b0", "length"),
        (3, "B:b1", "stop"),
    ]
    assert answer["object"] == "text_completion"
    assert answer["usage"]["total_tokens"] == 6
    assert answer["system_fingerprint"] == "fp_1"


def test_a_missing_usage_leaves_the_sum_out_for_an_estimate() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    answer = legacy.text_completion(
        {}, ["a", "b"], [chat_completion("x", usage=usage), chat_completion("y")]
    )
    assert "usage" not in answer


def test_a_null_content_is_empty_text() -> None:
    answer = legacy.text_completion({}, ["a"], [chat_completion(None)])
    assert answer["choices"][0]["text"] == ""


@pytest.mark.parametrize(
    ("prompt", "at_least"),
    [("hello world", 2), (["a b", "c"], 3), ([1, 2, 3], 3), ([[1, 2], [3]], 3), (None, 0)],
)
def test_prompt_estimate_counts_text_and_token_ids(prompt: Any, at_least: int) -> None:
    assert legacy.estimate_prompt_tokens({"prompt": prompt}) == at_least
