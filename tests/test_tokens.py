"""Offline token estimates (cl100k_base) for streams whose upstream reports no usage."""

from __future__ import annotations

from domain.tokens import estimate_prompt_tokens, estimate_tokens


def test_counts_are_openais_cl100k_tokens() -> None:
    assert estimate_tokens("tiktoken is great!") == 6  # tiktoken's own README example
    assert estimate_tokens("hello world") == 2
    assert estimate_tokens("") == 0


def test_special_token_text_is_counted_as_plain_text_not_refused() -> None:
    assert estimate_tokens("<|endoftext|>") > 1


def test_prompt_estimate_adds_openais_framing_per_message() -> None:
    one = estimate_prompt_tokens([{"role": "user", "content": "hello world"}])
    assert one == 3 + 3 + 2
    two = estimate_prompt_tokens(
        [{"role": "system", "content": "hello world"}, {"role": "user", "content": "hello world"}]
    )
    assert two == one + 3 + 2


def test_content_parts_and_tool_calls_are_counted() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert estimate_prompt_tokens(parts) == 8
    calls = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
        }
    ]
    assert estimate_prompt_tokens(calls) > 6
