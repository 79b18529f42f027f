"""Providers' models appear by themselves: OpenRouter's list is synced in the background (no
restart, no `wmgw` command), a local server's models (a fake vLLM) are listed and served under
its prefix, and a model that cannot be served gets a 404 saying what to set or which slug was
meant. One gateway for the module: a fake OpenRouter, a fake vLLM without a key, and a
llama.cpp server that is not running."""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.settings import Settings
from tests.conftest import SERVER_SECRET, Gateway, seed, wait_for
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.openrouter_upstream import FakeOpenRouter
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH, ErrorAnswers
from web.app import create_app

KEY = "sk-or-v1-discovery-test-key-0123456789"
WATCH.remember(KEY)
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
BGE = "BAAI/bge-small-en-v1.5"
SONNET = "anthropic/claude-sonnet-4.5"  # in the fake OpenRouter's list
USER = [{"role": "user", "content": "hello there"}]


class Records(logging.Handler):
    """What the gateway logged about model lists since it started."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings_about(self, provider: str) -> list[str]:
        lines = [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]
        return [line for line in lines if f"model list of {provider}" in line]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def openrouter() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture(scope="module")
def vllm() -> Iterator[FakeOpenAIUpstream]:
    fake = FakeOpenAIUpstream(api_key=None, models=[QWEN, BGE], owned_by="vllm")
    fake.models[0]["max_model_len"] = 32768
    with fake.serve():
        yield fake


@pytest.fixture(scope="module")
def logged() -> Iterator[Records]:
    records = Records()
    logger = logging.getLogger("wmgw.models")
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(records)
    logger.setLevel(level)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_template: Path,
    openrouter: FakeOpenRouter,
    vllm: FakeOpenAIUpstream,
    logged: Records,
) -> Iterator[Gateway]:
    data_dir = tmp_path_factory.mktemp("discovery")
    shutil.copy(migrated_template, data_dir / "gateway.db")
    environ = {
        "WMGW_DATA_DIR": str(data_dir),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        "WMGW_RETRIES": "0",
        "WMGW_OPENROUTER_API_KEY": KEY,
        "WMGW_OPENROUTER_BASE_URL": openrouter.base_url,
        "WMGW_OPENROUTER_SYNC_SECONDS": "0.3",
        "WMGW_VLLM_BASE_URL": f"{vllm.base_url}/v1",
        "WMGW_LLAMACPP_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
        "WMGW_DISCOVERY_SECONDS": "3600",  # found at start; later only when a request asks
    }
    settings = Settings.from_env(environ)
    user_id, workspace_id, key = seed(settings.database_url, settings.server_secret, None)
    with serve_asgi(ErrorAnswers(create_app(settings), WATCH)) as url:
        yield Gateway(f"{url}/api/openai/v1", key, settings, user_id, workspace_id)


@pytest.fixture
def fakes(openrouter: FakeOpenRouter, vllm: FakeOpenAIUpstream) -> None:
    openrouter.reset()
    vllm.reset()


def listed(gateway: Gateway) -> set[str]:
    return {model.id for model in gateway.client().models.list()}


def lists(gateway: Gateway, slug: str) -> Callable[[], bool]:
    return lambda: slug in listed(gateway)


def not_found(call: Callable[[], object]) -> str:
    """The message of the 404 `model_not_found` that `call` raises."""
    with pytest.raises(openai.NotFoundError) as raised:
        call()
    error = raised.value
    assert (error.code, error.param, error.type) == (
        "model_not_found",
        "model",
        "invalid_request_error",
    )
    assert isinstance(error.body, dict)
    return str(error.body["message"])


# -- OpenRouter -------------------------------------------------------------------------------


@pytest.mark.usefixtures("fakes")
def test_openrouter_models_appear_after_the_background_sync_without_a_restart(
    gateway: Gateway, openrouter: FakeOpenRouter
) -> None:
    assert wait_for(lists(gateway, SONNET))
    openrouter.model_list.data.append(
        {"id": "newlab/fresh-model", "created": 1767225600, "context_length": 8192}
    )
    assert wait_for(lists(gateway, "newlab/fresh-model"))
    assert set(openrouter.model_list.authorizations) == {f"Bearer {KEY}"}

    openrouter.reply("served by openrouter")
    answer = gateway.client().chat.completions.create(model="newlab/fresh-model", messages=USER)
    assert answer.choices[0].message.content == "served by openrouter"
    assert openrouter.requests[-1].body["model"] == "newlab/fresh-model"


@pytest.mark.usefixtures("fakes")
def test_a_failing_sync_keeps_the_last_list_and_warns_once_without_the_key(
    gateway: Gateway, openrouter: FakeOpenRouter, logged: Records
) -> None:
    assert wait_for(lists(gateway, SONNET))
    openrouter.model_list.fail(503)
    asked = openrouter.model_list.asked
    assert wait_for(lambda: openrouter.model_list.asked >= asked + 3)
    assert SONNET in listed(gateway)
    [warning] = logged.warnings_about("openrouter")
    assert warning.endswith("models it listed before") and "keeping the" in warning
    assert not any(KEY in record.getMessage() for record in logged.records)

    openrouter.model_list.reset()
    assert wait_for(
        lambda: any("model list of openrouter is back" in r.getMessage() for r in logged.records)
    )


# -- A local server: vLLM ---------------------------------------------------------------------


@pytest.mark.usefixtures("fakes")
def test_vllm_models_are_listed_under_its_prefix(gateway: Gateway) -> None:
    assert wait_for(lists(gateway, f"vllm/{QWEN}"))
    assert f"vllm/{BGE}" in listed(gateway)
    qwen = gateway.client().models.retrieve(f"vllm/{QWEN}")
    assert qwen.owned_by == "vllm"
    assert qwen.model_extra == {"context_length": 32768}


@pytest.mark.usefixtures("fakes")
def test_a_vllm_model_answers_chat_and_embeddings_without_a_key(
    gateway: Gateway, vllm: FakeOpenAIUpstream
) -> None:
    assert wait_for(lists(gateway, f"vllm/{QWEN}"))
    vllm.reply("Hi from vLLM", prompt_tokens=3, completion_tokens=4)
    answer = gateway.client().chat.completions.create(model=f"vllm/{QWEN}", messages=USER)
    assert answer.choices[0].message.content == "Hi from vLLM"
    assert answer.model == f"vllm/{QWEN}"

    vectors = gateway.client().embeddings.create(model=f"vllm/{BGE}", input="hello")
    assert vectors.data and vectors.model == f"vllm/{BGE}"
    chat, embeddings = [r for r in vllm.requests if r.method == "POST"]
    assert (chat.path, chat.body["model"]) == ("/v1/chat/completions", QWEN)
    assert (embeddings.path, embeddings.body["model"]) == ("/v1/embeddings", BGE)
    assert "authorization" not in chat.headers


@pytest.mark.usefixtures("fakes")
def test_a_model_loaded_after_start_is_served_on_its_first_request(
    gateway: Gateway, vllm: FakeOpenAIUpstream
) -> None:
    assert wait_for(lists(gateway, f"vllm/{QWEN}"))
    vllm.models.append({"id": "just-loaded", "object": "model", "created": 1, "owned_by": "vllm"})
    try:
        vllm.reply("fresh")
        answer = gateway.client().chat.completions.create(model="vllm/just-loaded", messages=USER)
    finally:
        vllm.models.pop()
    assert answer.choices[0].message.content == "fresh"


@pytest.mark.usefixtures("fakes")
def test_an_unreachable_local_server_lists_nothing_and_warns_once(
    gateway: Gateway, logged: Records
) -> None:
    assert wait_for(lambda: logged.warnings_about("llamacpp") != [])
    assert not any(slug.startswith("llamacpp/") for slug in listed(gateway))
    for _ in range(2):
        message = not_found(
            lambda: gateway.client().chat.completions.create(model="llamacpp/x", messages=USER)
        )
        assert "`llamacpp/x` does not exist" in message
    assert len(logged.warnings_about("llamacpp")) == 1


# -- What a 404 says --------------------------------------------------------------------------


def test_a_model_of_an_unconfigured_provider_names_the_variable_to_set(gateway: Gateway) -> None:
    message = not_found(
        lambda: gateway.client().chat.completions.create(model="openai/gpt-5-nano", messages=USER)
    )
    assert message == (
        "The model `openai/gpt-5-nano` is served by the provider `openai`, which is not "
        "configured on this gateway: set WMGW_OPENAI_API_KEY."
    )
    unknown = not_found(lambda: gateway.client().models.retrieve("anthropic/claude-next"))
    assert unknown.endswith("not configured on this gateway: set WMGW_ANTHROPIC_API_KEY.")
    local = not_found(
        lambda: gateway.client().embeddings.create(model="ollama/nomic-embed-text", input="x")
    )
    assert local.endswith("set WMGW_OLLAMA_BASE_URL.")


def test_a_model_without_its_prefix_suggests_the_slugs_to_use(gateway: Gateway) -> None:
    assert wait_for(lists(gateway, "openai/gpt-4o-mini"))  # OpenRouter's, here
    message = not_found(
        lambda: gateway.client().chat.completions.create(model="gpt-4o-mini", messages=USER)
    )
    assert message == (
        "The model `gpt-4o-mini` does not exist: models are named `provider/model`. "
        "Did you mean `openai/gpt-4o-mini`?"
    )
    local = not_found(lambda: gateway.client().models.retrieve(QWEN))
    assert local.endswith(f"Did you mean `vllm/{QWEN}`?")


def test_a_404_is_openais_envelope_with_a_request_id(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        answer = client.post(
            "/chat/completions",
            json={"model": "claude-sonnet-4.5", "messages": USER},
            headers={"Authorization": f"Bearer {gateway.key}"},
        )
    assert answer.status_code == 404 and answer.headers["x-request-id"]
    assert answer.json() == {
        "error": {
            "message": "The model `claude-sonnet-4.5` does not exist: models are named "
            "`provider/model`. Did you mean `anthropic/claude-sonnet-4.5`?",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


# -- Start-up ---------------------------------------------------------------------------------


def test_a_gateway_whose_openrouter_never_answers_starts_at_once(
    start_gateway: Callable[..., Gateway],
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        began = time.monotonic()
        started = start_gateway(
            env={
                "WMGW_OPENROUTER_API_KEY": KEY,
                "WMGW_OPENROUTER_BASE_URL": f"http://127.0.0.1:{port}/api/v1",
            }
        )
        assert "writingmate/echo" in listed(started)
        assert time.monotonic() - began < 8  # its list is fetched within 30 s, not waited for
