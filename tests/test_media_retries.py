"""Embeddings and images, when their upstream fails for a moment: asked again on the same
model (never on another one, whose vectors or pictures are not what was asked for), within the
upstream's circuit breaker, with every call in the ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_errors import openai_error
from tests.fakes.openai_images_upstream import FakeOpenAIImages
from tests.fakes.openai_upstream import FakeOpenAIUpstream

SMALL = "openai/text-embedding-3-small"
IMAGES_KEY = "sk-images-upstream-key"
ONE_RETRY = {"WMGW_RETRIES": "1"}
SERVER_ERROR = openai_error("The server had an error.", type="server_error")


def embedding_calls(fake: FakeOpenAIUpstream) -> int:
    return sum(1 for request in fake.requests if request.path == "/v1/embeddings")


def test_an_embedding_request_is_asked_again_after_a_passing_failure(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    gateway = start_gateway(env=ONE_RETRY)
    fake_openai.fail(503)
    answer = gateway.client().embeddings.create(model=SMALL, input="one two three")
    assert len(answer.data) == 1 and answer.model == SMALL
    assert embedding_calls(fake_openai) == 2
    [row] = gateway.ledger()
    assert (row["model"], row["attempts"], row["status"]) == (SMALL, 2, "completed")


def test_an_embedding_model_whose_upstream_keeps_failing_is_not_called_for_a_while(
    start_gateway: Callable[..., Gateway], fake_openai: FakeOpenAIUpstream
) -> None:
    gateway = start_gateway(env={"WMGW_BREAKER_FAILURES": "2"})
    fake_openai.fail(503, times=2)
    client = gateway.client()
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.embeddings.create(model=SMALL, input="hello")
    with pytest.raises(openai.APIStatusError) as refused:
        client.embeddings.create(model=SMALL, input="hello")
    assert refused.value.status_code == 503
    assert refused.value.body["code"] == "circuit_open"  # type: ignore[index]
    assert embedding_calls(fake_openai) == 2
    assert [row["messages"] for row in gateway.ledger()] == [0, 0, 0]


@pytest.fixture(scope="module")
def images_server() -> Iterator[FakeOpenAIImages]:
    fake = FakeOpenAIImages(api_key=IMAGES_KEY)
    with fake.serve():
        yield fake


def test_an_image_request_is_asked_again_after_a_passing_failure(
    start_gateway: Callable[..., Gateway], images_server: FakeOpenAIImages
) -> None:
    images_server.reset()
    gateway = start_gateway(
        env={
            **ONE_RETRY,
            "WMGW_OPENAI_API_KEY": IMAGES_KEY,
            "WMGW_OPENAI_BASE_URL": f"{images_server.base_url}/v1",
        }
    )
    images_server.fail(500, SERVER_ERROR)
    answer = gateway.client().images.generate(model="openai/gpt-image-1", prompt="an otter")
    assert answer.data and answer.data[0].b64_json
    [row] = gateway.ledger()
    assert (row["attempts"], row["images"], row["status"]) == (2, 1, "completed")
