"""What a request is charged by how it ended, as a user sees it in the ledger and the headers:
nothing for a failure before any output or for the gateway's own error, what was produced when
a stream is cut (by the upstream's own counts where it gave them), and the prompt when a client
leaves (whose upstream call is then cancelled)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from storage import quota
from tests.conftest import Gateway
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

HELLO = [{"role": "user", "content": "hi"}]
GPT = "openai/gpt-5-mini"
ANTHROPIC_KEY = "sk-ant-upstream-test-key"


def used_today(gateway: Gateway) -> tuple[int, int]:
    [counter] = gateway.db(lambda conn: quota.counters(conn, gateway.workspace_id, "messages"))
    return counter["used"], counter["reserved"]


def test_a_stream_that_fails_before_any_token_costs_nothing(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    """The upstream sent its first chunk (the role, no text) and then failed."""
    gateway = start_gateway(daily_limit=10)
    fake_openai.reply("never sent", error_after=1)
    with pytest.raises(openai.APIError):
        list(gateway.client().chat.completions.create(model=GPT, messages=HELLO, stream=True))
    [row] = gateway.ledger()
    assert (row["status"], row["messages"]) == ("upstream_error", 0)
    assert used_today(gateway) == (0, 0)


def test_a_stream_cut_after_output_is_charged_for_what_it_produced(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    gateway = start_gateway(daily_limit=10)
    fake_openai.reply(
        "one two three four five six", chunks=["one ", "two ", "three "] * 3, error_after=4
    )
    with pytest.raises(openai.APIError):
        list(gateway.client().chat.completions.create(model=GPT, messages=HELLO, stream=True))
    [row] = gateway.ledger()
    assert (row["status"], row["messages"], row["usage_estimated"]) == ("interrupted", 1, True)
    assert row["completion_tokens"] > 0
    assert used_today(gateway) == (1, 0)


def test_an_anthropic_stream_cut_short_is_charged_the_prompt_anthropic_reported(
    start_gateway: Callable[..., Gateway], anthropic: FakeAnthropicUpstream
) -> None:
    """message_start said 40,000 input tokens; the stream broke after some text. The charge
    uses Anthropic's count, not the gateway's estimate of a two-word prompt."""
    gateway = start_gateway(
        daily_limit=10,
        env={
            "WMGW_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "WMGW_ANTHROPIC_BASE_URL": str(anthropic.base_url),
        },
    )
    anthropic.reply("a fairly long answer that breaks", input_tokens=40_000, error_after=4)
    stream = gateway.client().chat.completions.create(
        model="anthropic/claude-haiku-4.5", messages=HELLO, stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
    [row] = gateway.ledger()
    assert (row["status"], row["prompt_tokens"]) == ("interrupted", 40_000)
    assert row["messages"] == 3  # ceil((40,000 + a few) / 16,000)


def test_a_client_leaving_a_request_that_is_not_streamed_cancels_the_upstream_call(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    gateway = start_gateway(daily_limit=10)
    fake_openai.reply("too late", delay=5)
    with pytest.raises(openai.APITimeoutError):
        gateway.client(timeout=0.5).chat.completions.create(model=GPT, messages=HELLO)
    assert fake_openai.wait_for_disconnect(timeout=5)  # the gateway hung up on the upstream
    assert_eventually(lambda: len(gateway.ledger()) == 1)
    [row] = gateway.ledger()
    # Charged for its prompt, which the upstream had read; nothing was produced for it.
    assert (row["status"], row["completion_tokens"], row["messages"]) == (
        "client_disconnected",
        0,
        1,
    )
    assert used_today(gateway) == (1, 0)


def test_a_request_the_gateway_itself_fails_is_never_charged(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    """A lone surrogate cannot be sent upstream as UTF-8: whatever the gateway answers, the
    request costs nothing."""
    gateway = start_gateway(daily_limit=10)
    body = b'{"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "\\ud800"}]}'
    with gateway.http() as http:
        answer = http.post("/chat/completions", content=body, headers=JSON_TYPE)
    assert answer.status_code in (400, 500)
    assert answer.json()["error"]["message"]
    assert sum(row["messages"] for row in gateway.ledger()) == 0
    assert fake_openai.requests == []


JSON_TYPE = {"Content-Type": "application/json"}


def assert_eventually(check: Callable[[], bool]) -> None:
    from tests.conftest import wait_for

    assert wait_for(check, timeout=5)


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[FakeAnthropicUpstream]:
    fake = FakeAnthropicUpstream(api_key=ANTHROPIC_KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def anthropic(anthropic_server: FakeAnthropicUpstream) -> FakeAnthropicUpstream:
    anthropic_server.reset()
    return anthropic_server
