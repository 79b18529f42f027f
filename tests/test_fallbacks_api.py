"""Which models a request falls back to: those it names in `models`, then its catalog entry's
chain, each once, skipping those the workspace cannot use; never on the caller's own mistake;
and never writing more than admission reserved for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from gateway.settings import REPO_ROOT
from tests.conftest import Gateway
from tests.fakes.faulty import FaultyUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

MODEL = "anthropic/claude-haiku-4.5"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    fake = FaultyUpstream("anthropic")
    with fake.serve():
        yield fake


@pytest.fixture
def fake(upstream: FaultyUpstream) -> FaultyUpstream:
    upstream.reset()
    return upstream


def catalog_with_chain(tmp_path: Path, chain: list[str]) -> Path:
    catalog = yaml.safe_load((REPO_ROOT / "catalog.yaml").read_text())
    for model in catalog["models"]:
        if model["slug"] == MODEL:
            model["fallbacks"] = chain
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    return path


@pytest.fixture
def gw(start_gateway: Callable[..., Gateway], fake: FaultyUpstream) -> Gateway:
    return start_gateway(
        env={"WMGW_ANTHROPIC_API_KEY": "k", "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url)}
    )


def ask(gw: Gateway, **extra: object) -> dict:
    with gw.http() as http:
        return http.post(
            "/chat/completions", json={"model": MODEL, "messages": HELLO, **extra}
        ).json()


def test_a_catalog_chain_serves_a_request_that_names_no_fallback(
    start_gateway: Callable[..., Gateway], fake: FaultyUpstream, tmp_path: Path
) -> None:
    catalog = catalog_with_chain(tmp_path, ["writingmate/echo"])
    gw = start_gateway(
        env={
            "WMGW_ANTHROPIC_API_KEY": "k",
            "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url),
            "WMGW_CATALOG": str(catalog),
        }
    )
    fake.script("overloaded")
    assert ask(gw)["model"] == "writingmate/echo"


def test_unknown_and_unusable_fallbacks_are_skipped_and_the_next_serves(
    gw: Gateway, fake: FaultyUpstream
) -> None:
    fake.script("overloaded")
    # Not configured here (no Gemini key), unknown, and an image model that cannot chat.
    models = [
        "google/gemini-2.5-flash",
        "nobody/nothing",
        "writingmate/echo-image",
        "writingmate/echo",
    ]
    assert ask(gw, models=models)["model"] == "writingmate/echo"
    assert gw.ledger()[0]["attempts"] == 2


def test_the_callers_own_mistake_is_answered_at_once_without_falling_back(
    gw: Gateway, fake: FaultyUpstream
) -> None:
    fake.script("bad_request")
    answer = ask(gw, models=["writingmate/echo"])
    assert answer["error"]["type"] == "invalid_request_error"
    assert "temperature is too high" in answer["error"]["message"]
    assert len(fake.requests) == 1
    assert gw.ledger()[0]["messages"] == 0


def test_a_fallback_with_a_larger_maximum_writes_no_more_than_was_reserved(
    gw: Gateway, fake: FaultyUpstream, fake_openai: FakeOpenAIUpstream
) -> None:
    fake.script("overloaded")
    answer = ask(gw, models=["openai/gpt-5-mini"])  # its maximum: 128000; haiku's: 64000
    assert answer["model"] == "openai/gpt-5-mini"
    sent = fake_openai.requests[-1].body
    assert sent["max_completion_tokens"] == 64000


def test_models_must_be_a_short_list_of_slugs(gw: Gateway) -> None:
    for models in (["writingmate/echo"] * 9, [""], "writingmate/echo", [3]):
        answer = ask(gw, models=models)
        assert answer["error"]["type"] == "invalid_request_error", models
        assert answer["error"]["param"] == "models" or "models" in answer["error"]["message"]


def test_a_response_names_the_fallback_that_served_it(gw: Gateway, fake: FaultyUpstream) -> None:
    fake.script("overloaded", "overloaded")
    for stream in (False, True):
        with gw.http() as http:
            answer = http.post(
                "/responses",
                json={
                    "model": MODEL,
                    "input": "hi",
                    "models": ["writingmate/echo"],
                    "stream": stream,
                },
            )
        assert answer.headers["x-writingmate-model"] == "writingmate/echo"
        if stream:
            assert '"model":"writingmate/echo"' in answer.text
        else:
            assert answer.json()["model"] == "writingmate/echo"
