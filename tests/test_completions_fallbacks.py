"""Legacy completions fall back as chat does: to the models a request names in `models`, then
to its catalog entry's chain, each served by its own `/completions` or by translation through
its chat API; the answer names the model that served, and only that one is metered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Gateway
from tests.fakes.faulty import FaultyUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

# The Anthropic upstream that fails, and a gateway on it, as the chat fallback tests have them.
from tests.test_fallbacks_api import (  # noqa: F401
    MODEL,
    catalog_with_chain,
    fake,
    gw,
    upstream,
)

INSTRUCT = "openai/gpt-3.5-turbo-instruct"


def complete(gateway: Gateway, **extra: object) -> dict:
    with gateway.http() as http:
        answer = http.post("/completions", json={"model": MODEL, "prompt": "Say hi", **extra})
    return {"headers": answer.headers, "body": answer.json() if not extra.get("stream") else None}


def test_a_failing_model_falls_back_to_one_the_request_names(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
) -> None:
    fake.script("overloaded")
    answer = complete(gw, models=["writingmate/echo"])
    assert answer["body"]["object"] == "text_completion"
    assert answer["body"]["model"] == "writingmate/echo"
    assert answer["headers"]["x-writingmate-model"] == "writingmate/echo"
    [row] = gw.ledger()
    assert (row["model"], row["attempts"], row["status"]) == ("writingmate/echo", 2, "completed")


def test_a_stream_falls_back_before_its_first_output(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
) -> None:
    fake.script("overloaded")
    with gw.http() as http:
        answer = http.post(
            "/completions",
            json={
                "model": MODEL,
                "prompt": "Say hi",
                "stream": True,
                "models": ["writingmate/echo"],
            },
        )
    assert answer.status_code == 200
    assert answer.headers["x-writingmate-model"] == "writingmate/echo"
    assert '"model":"writingmate/echo"' in answer.text and answer.text.endswith("data: [DONE]\n\n")
    assert gw.ledger()[0]["attempts"] == 2


def test_the_catalog_chain_serves_by_translation_through_a_chat_model(
    start_gateway: Callable[..., Gateway],
    fake: FaultyUpstream,  # noqa: F811
    fake_openai: FakeOpenAIUpstream,
    tmp_path: Path,
) -> None:
    gw = start_gateway(  # noqa: F811
        env={
            "WMGW_ANTHROPIC_API_KEY": "k",
            "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url),
            "WMGW_CATALOG": str(catalog_with_chain(tmp_path, ["openai/gpt-5-mini"])),
        }
    )
    fake.script("overloaded")
    answer = complete(gw)
    assert (answer["body"]["object"], answer["body"]["model"]) == (
        "text_completion",
        "openai/gpt-5-mini",
    )
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/chat/completions" and "models" not in sent.body


def test_a_named_fallback_passes_through_to_its_own_completions_within_the_reservation(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
    fake_openai: FakeOpenAIUpstream,
) -> None:
    fake.script("overloaded")
    answer = complete(gw, models=[INSTRUCT])
    assert answer["body"]["model"] == INSTRUCT
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/completions" and "models" not in sent.body
    # No more output than admission reserved on the request's model (16, OpenAI's default),
    # in the legacy request's own field.
    assert sent.body["max_tokens"] == 16 and "max_completion_tokens" not in sent.body


def test_fallbacks_that_cannot_serve_completions_are_skipped(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
) -> None:
    fake.script("overloaded")
    models = ["nobody/nothing", "writingmate/echo-image", "writingmate/echo"]
    assert complete(gw, models=models)["body"]["model"] == "writingmate/echo"
    assert gw.ledger()[0]["attempts"] == 2


def test_the_callers_own_mistake_is_not_retried_on_a_fallback(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
) -> None:
    fake.script("bad_request")
    answer = complete(gw, models=["writingmate/echo"])
    assert answer["body"]["error"]["type"] == "invalid_request_error"
    assert len(fake.requests) == 1
    assert gw.ledger()[0]["messages"] == 0


def test_a_fallback_that_cannot_honour_the_request_is_skipped(
    gw: Gateway,  # noqa: F811
    fake: FaultyUpstream,  # noqa: F811
    fake_openai: FakeOpenAIUpstream,
) -> None:
    fake_openai.fail(503, times=5)
    # `suffix` is what no chat API takes: Claude cannot serve the request by translation.
    answer = complete(gw, model=INSTRUCT, suffix="!", models=[MODEL, "writingmate/echo"])
    assert answer["body"]["model"] == "writingmate/echo"
    assert fake.requests == []
