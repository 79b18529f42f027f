"""A Python client generated from the spec the gateway serves works: openapi-python-client
(the settings in openapi-python-client.yaml, as docs/spec.md tells) generates it from
`/openapi.json` without a warning, with one function per operation named after OpenAI's
operationIds, and its typed models list the models, chat with the offline echo model and
create an image against a running gateway. One client is generated per session, in tmp."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from gateway.settings import REPO_ROOT
from tests.conftest import Gateway

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
CONFIG = REPO_ROOT / "openapi-python-client.yaml"
PACKAGE = yaml.safe_load(CONFIG.read_text())["package_name_override"]


@pytest.fixture(scope="module")
def gw(module_gateway: Gateway) -> Gateway:
    return module_gateway


@pytest.fixture(scope="module")
def generation(gw: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The generator's output; the package it wrote is importable while the module runs."""
    where = tmp_path_factory.mktemp("client")
    env = {
        **os.environ,
        # Its post-hooks format the code with ruff, installed beside it; ruff keeps no cache.
        "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RUFF_NO_CACHE": "true",
    }
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--url",
            f"{gw.base_url}/openapi.json",
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        yield done.stdout + done.stderr
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def generated(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def client(gw: Gateway, generation: str) -> Any:
    return generated("client").AuthenticatedClient(
        base_url=gw.base_url, token=gw.key, raise_on_unexpected_status=True
    )


def snake_case(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def test_the_client_is_generated_without_a_warning_with_every_operation(
    gw: Gateway, generation: str
) -> None:
    assert "Warning" not in generation and "Unable" not in generation, generation
    with gw.http() as http:
        spec = http.get("/openapi.json").json()
    for item in spec["paths"].values():
        for operation in (item[m] for m in ("get", "post", "delete") if m in item):
            module = f"api.{operation['tags'][0].lower()}.{snake_case(operation['operationId'])}"
            assert hasattr(generated(module), "sync_detailed"), module


def test_the_generated_client_lists_the_models(client: Any) -> None:
    listed = generated("api.models.list_models").sync(client=client)
    assert type(listed).__name__ == "ListModelsResponse"
    assert "writingmate/echo" in [model.id for model in listed.data]


def test_the_generated_client_chats_with_the_echo_model(client: Any) -> None:
    models = generated("models")
    request = models.CreateChatCompletionRequest(
        model="writingmate/echo",
        messages=[models.ChatCompletionRequestUserMessage(role="user", content="Hello!")],
    )
    answer = generated("api.chat.create_chat_completion").sync(client=client, body=request)
    assert type(answer).__name__ == "CreateChatCompletionResponse"
    assert answer.choices[0].message.content == "Hello!"
    assert answer.choices[0].finish_reason.value == "stop"
    assert answer.usage.total_tokens > 0


def test_the_generated_client_creates_an_image(client: Any) -> None:
    models = generated("models")
    request = models.CreateImageRequest(
        model="writingmate/echo-image", prompt="A lighthouse at dawn", size="256x256"
    )
    answer = generated("api.images.create_image").sync(client=client, body=request)
    assert type(answer).__name__ == "ImagesResponse"
    assert answer.data[0].b64_json.startswith("iVBORw0KGgo")  # a PNG


def test_the_generated_client_tells_an_error_by_openai_s_envelope(client: Any) -> None:
    models = generated("models")
    request = models.CreateChatCompletionRequest(
        model="nobody/no-such-model",
        messages=[models.ChatCompletionRequestUserMessage(role="user", content="Hello!")],
    )
    answer = generated("api.chat.create_chat_completion").sync(client=client, body=request)
    assert type(answer).__name__ == "ErrorResponse"
    assert answer.error.code == "model_not_found"
