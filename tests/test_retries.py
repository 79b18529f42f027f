"""When the gateway asks an upstream again, falls back to the next model, or answers at once
(domain/retries.py), and the deadlines each provider gets (domain/deadlines.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.deadlines import Deadlines, deadlines_for
from domain.errors import Fault, InvalidRequest, RateLimited, UpstreamError, UpstreamUnavailable
from domain.retries import RetryPolicy, backoff, falls_back, next_wait, policy_for
from domain.upstream_policy import policy_of


def failed(retryable: bool, retry_after: float | None = None) -> UpstreamError:
    error = UpstreamUnavailable("down")
    error.fault = Fault(retryable=retryable, retry_after=retry_after)
    return error


def test_the_callers_own_mistake_never_falls_back() -> None:
    assert not falls_back(InvalidRequest("bad temperature"))


def test_an_upstream_fault_or_a_broken_answer_falls_back() -> None:
    assert falls_back(failed(retryable=False))
    assert falls_back(UpstreamError("malformed stream"))
    limited = RateLimited("slow down")
    limited.fault = Fault(retryable=True, retry_after=2)
    assert falls_back(limited)


@given(st.integers(0, 20), st.floats(0, 100) | st.none())
def test_a_backoff_stays_within_its_window_and_never_before_retry_after(
    retry: int, retry_after: float | None
) -> None:
    policy = RetryPolicy(base=0.5, cap=8)
    wait = backoff(policy, retry, retry_after)
    window = min(8.0, 0.5 * 2**retry)
    assert wait >= (retry_after or 0)
    assert wait <= max(window, retry_after or 0)


def test_backoff_is_jittered_over_the_whole_window() -> None:
    policy = RetryPolicy(base=1, cap=8)
    assert backoff(policy, 2, None, draw=lambda low, high: high) == 4
    assert backoff(policy, 2, None, draw=lambda low, high: low) == 0


def test_retries_stop_when_spent_not_retryable_too_long_asked_or_past_the_deadline() -> None:
    policy = RetryPolicy(retries=2, base=0.1, longest_wait=30)
    assert next_wait(policy, failed(True), 0, 100) is not None
    assert next_wait(policy, failed(True), 2, 100) is None  # spent
    assert next_wait(policy, failed(False), 0, 100) is None
    assert next_wait(policy, failed(True, retry_after=60), 0, 100) is None  # fall back instead
    assert next_wait(policy, failed(True, retry_after=5), 0, 100) == 5
    assert next_wait(policy, failed(True, retry_after=5), 0, 4) is None  # the total would pass
    assert next_wait(policy, InvalidRequest("no"), 0, 100) is None


def test_deadlines_default_to_what_llms_need() -> None:
    assert deadlines_for({"name": "anthropic"}, {}) == Deadlines(
        connect=10, first_token=120, stall=120, answer=600, total=1800
    )


def test_deadlines_come_from_the_row_then_all_providers_then_one_provider() -> None:
    row = {"name": "anthropic", "deadlines": {"first_token": 30, "stall": 45}}
    env = {"WMGW_FIRST_TOKEN_SECONDS": "20", "WMGW_ANTHROPIC_FIRST_TOKEN_SECONDS": "5"}
    chosen = deadlines_for(row, env)
    assert (chosen.first_token, chosen.stall, chosen.connect) == (5, 45, 10)
    assert deadlines_for({**row, "name": "google"}, env).first_token == 20


@pytest.mark.parametrize(
    ("row", "env"),
    [
        ({"name": "x", "deadlines": {"first_tokens": 3}}, {}),
        ({"name": "x", "deadlines": {"stall": 0}}, {}),
        ({"name": "x"}, {"WMGW_TOTAL_SECONDS": "soon"}),
    ],
)
def test_a_malformed_deadline_stops_the_start(row: dict, env: dict) -> None:
    with pytest.raises(ValueError):
        deadlines_for(row, env)


def test_retries_and_breaker_come_from_the_row_and_the_environment() -> None:
    assert policy_for({"retries": 0}).retries == 0
    policy = policy_of(
        {"name": "openai", "retries": {"retries": 1, "base": 2}, "breaker": {"failures": 3}},
        {"WMGW_RETRY_BASE_SECONDS": "0.01", "WMGW_BREAKER_COOL_DOWN_SECONDS": "5"},
    )
    assert (policy.retries.retries, policy.retries.base) == (1, 0.01)
    assert (policy.breaker.failures, policy.breaker.cool_down) == (3, 5)
