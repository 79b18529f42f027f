"""The published counting rule: how many messages one request costs.

cached_discount = floor(cached_prompt_tokens * 0.5)
effective_input = max(0, prompt_tokens - cached_discount)
counted         = max(1, ceil((effective_input + completion_tokens) / 16000))
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.metering import TOKENS_PER_MESSAGE, Usage, counted_messages, messages_for

tokens = st.integers(min_value=0, max_value=2_000_000)
FAST = settings(max_examples=200, deadline=None)


def reference(prompt: int, completion: int, cached: int) -> int:
    """The rule exactly as published, with exact rational arithmetic."""
    cached_discount = math.floor(Fraction(cached) * Fraction(1, 2))
    effective_input = max(0, prompt - cached_discount)
    return max(1, math.ceil(Fraction(effective_input + completion, 16_000)))


@pytest.mark.parametrize(
    ("prompt", "completion", "cached", "expected"),
    [
        pytest.param(10, 5, 0, 1, id="published example: a short chat is one message"),
        pytest.param(19_000, 3_000, 4_000, 2, id="published example: cached tokens half price"),
    ],
)
def test_published_examples_are_charged_as_documented(prompt, completion, cached, expected):
    assert counted_messages(prompt, completion, cached) == expected


@pytest.mark.parametrize(
    ("prompt", "completion", "cached", "expected"),
    [
        pytest.param(0, 0, 0, 1, id="no tokens still costs one message"),
        pytest.param(16_000, 0, 0, 1, id="exactly 16000 tokens is one message"),
        pytest.param(15_999, 1, 0, 1, id="16000 split over prompt and completion is one"),
        pytest.param(16_001, 0, 0, 2, id="16001 tokens is two messages"),
        pytest.param(16_000, 1, 0, 2, id="one completion token over the line is two"),
        pytest.param(0, 32_000, 0, 2, id="32000 completion tokens is two"),
        pytest.param(0, 32_001, 0, 3, id="32001 completion tokens is three"),
        pytest.param(100, 0, 10_000, 1, id="cached beyond prompt never makes input negative"),
        pytest.param(0, 16_001, 1_000_000, 2, id="huge cache never discounts completion tokens"),
        pytest.param(16_001, 0, 1, 2, id="one cached token discounts nothing (floor of 0.5)"),
        pytest.param(16_001, 0, 2, 1, id="two cached tokens discount one"),
        pytest.param(16_002, 0, 3, 2, id="three cached tokens discount one (floor of 1.5)"),
        pytest.param(16_002, 0, 4, 1, id="four cached tokens discount two"),
    ],
)
def test_boundaries_of_the_counting_rule(prompt, completion, cached, expected):
    assert counted_messages(prompt, completion, cached) == expected


def test_cached_tokens_default_to_none():
    assert counted_messages(16_001, 0) == 2


def test_messages_for_a_usage_reads_prompt_completion_and_cached_tokens():
    usage = Usage(prompt_tokens=19_000, completion_tokens=3_000, cached_tokens=4_000)
    assert messages_for(usage) == 2
    assert usage.total_tokens == 22_000


def test_one_message_is_sixteen_thousand_tokens():
    assert TOKENS_PER_MESSAGE == 16_000


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens)
def test_every_request_costs_at_least_one_message(prompt, completion, cached):
    assert counted_messages(prompt, completion, cached) >= 1


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens, more=tokens)
def test_more_completion_tokens_never_cost_less(prompt, completion, cached, more):
    assert counted_messages(prompt, completion + more, cached) >= counted_messages(
        prompt, completion, cached
    )


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens, more=tokens)
def test_more_prompt_tokens_never_cost_less(prompt, completion, cached, more):
    assert counted_messages(prompt + more, completion, cached) >= counted_messages(
        prompt, completion, cached
    )


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens, more=tokens)
def test_more_cached_tokens_never_cost_more(prompt, completion, cached, more):
    assert counted_messages(prompt, completion, cached + more) <= counted_messages(
        prompt, completion, cached
    )


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens)
def test_count_equals_the_published_formula(prompt, completion, cached):
    assert counted_messages(prompt, completion, cached) == reference(prompt, completion, cached)


@FAST
@given(prompt=tokens, completion=tokens, cached=tokens)
def test_cached_tokens_within_the_prompt_match_the_formula(prompt, completion, cached):
    cached = min(cached, prompt)  # what upstreams actually report
    assert counted_messages(prompt, completion, cached) == reference(prompt, completion, cached)
