"""Replicate's image models through the gateway: the fake predictions API
(tests/fakes/replicate_upstream.py) driven over HTTP as the docs describe, the pure translators,
and the official `openai` SDK talking to a real gateway in front of the fake."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.images import image_request
from gateway.settings import REPO_ROOT
from providers.replicate import request as translation
from storage import accounts
from tests.conftest import Gateway
from tests.fakes.pngs import label_of
from tests.fakes.replicate_upstream import FakeReplicate

TOKEN = "r8_test_token_0123456789"


def entry(upstream_id: str) -> ModelEntry:
    return ModelEntry(upstream_id, "replicate", upstream_id, 0, upstream_id.split("/")[0])


@pytest.fixture(scope="module")
def replicate_server() -> Iterator[FakeReplicate]:
    fake = FakeReplicate(api_token=TOKEN)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(replicate_server: FakeReplicate) -> FakeReplicate:
    replicate_server.reset()
    return replicate_server


def write_catalog(directory: Path, deadline: float) -> Path:
    """The shipped catalog with another prediction deadline and quick polling."""
    document = yaml.safe_load((REPO_ROOT / "catalog.yaml").read_text())
    for row in document["providers"]:
        if row["name"] == "replicate":
            row["prediction_deadline_seconds"] = deadline
            row["poll_interval_seconds"] = 0.05
    path = directory / f"catalog-{deadline}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def start(start_gateway: Callable[..., Gateway], fake: FakeReplicate, catalog: Path) -> Gateway:
    return start_gateway(
        env={
            "WMGW_REPLICATE_API_TOKEN": TOKEN,
            "WMGW_REPLICATE_BASE_URL": fake.base_url or "",
            "WMGW_CATALOG": str(catalog),
        }
    )


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway], fake: FakeReplicate, tmp_path: Path) -> Gateway:
    return start(start_gateway, fake, write_catalog(tmp_path, deadline=1.5))


def labels(images: openai.types.ImagesResponse) -> list[str]:
    return [label_of(base64.b64decode(image.b64_json or "")) for image in images.data]


# ---------------------------------------------------------------- the fake, as the docs describe


def test_fake_runs_predictions_as_replicates_http_api_describes(fake: FakeReplicate) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=fake.base_url or "", headers=auth) as http:
        fake.plan()
        waited = http.post(
            "/v1/models/black-forest-labs/flux-schnell/predictions",
            json={"input": {"prompt": "an iguana", "num_outputs": 2}},
            headers={"Prefer": "wait=60"},
        )
        assert waited.status_code == 201 and waited.json()["status"] == "succeeded"
        assert len(waited.json()["output"]) == 2
        fake.plan(polls=1)
        started = http.post(
            "/v1/models/recraft-ai/recraft-v3/predictions", json={"input": {"prompt": "a cat"}}
        ).json()
        assert (started["status"], started["output"]) == ("starting", None)
        polled = [http.get(f"/v1/predictions/{started['id']}").json() for _ in range(2)]
        assert [p["status"] for p in polled] == ["processing", "succeeded"]
        assert isinstance(polled[1]["output"], str)  # recraft-v3: one URL
        assert label_of(httpx.get(polled[1]["output"]).content) == "a cat#0"
        missing = http.post("/v1/models/a/b/predictions", json={"input": {}})
        assert missing.status_code == 422 and "prompt" in missing.json()["detail"]
    assert httpx.post(f"{fake.base_url}/v1/models/a/b/predictions", json={}).status_code == 401


# ---------------------------------------------------------------- pure translation


def test_flux_makes_up_to_four_images_per_prediction() -> None:
    request = image_request({"prompt": "p", "n": 6, "size": "1792x1024"})
    assert translation.inputs(request, entry("black-forest-labs/flux-schnell")) == [
        {"prompt": "p", "aspect_ratio": "16:9", "num_outputs": 4, "output_format": "png"},
        {"prompt": "p", "aspect_ratio": "16:9", "num_outputs": 2, "output_format": "png"},
    ]


def test_single_image_models_get_one_prediction_per_image() -> None:
    request = image_request({"prompt": "p", "n": 2, "size": "1024x1792"})
    assert translation.inputs(request, entry("recraft-ai/recraft-v3")) == [
        {"prompt": "p", "aspect_ratio": "9:16"},
        {"prompt": "p", "aspect_ratio": "9:16"},
    ]
    sd3 = translation.inputs(
        image_request({"prompt": "p"}), entry("stability-ai/stable-diffusion-3")
    )
    assert sd3 == [{"prompt": "p", "aspect_ratio": "1:1", "output_format": "png"}]


def test_outputs_are_one_url_or_a_list_of_them() -> None:
    assert translation.output_urls({"output": "https://x/out.webp"}) == ["https://x/out.webp"]
    assert translation.output_urls({"output": ["https://a", "https://b", None]}) == [
        "https://a",
        "https://b",
    ]
    assert translation.output_urls({"output": None}) == []


def test_predictions_that_did_not_succeed_map_to_openai_errors() -> None:
    nsfw = translation.failure({"status": "failed", "error": "NSFW content detected. Try again."})
    assert isinstance(nsfw, InvalidRequest) and nsfw.code == "content_policy_violation"
    crashed = translation.failure({"status": "failed", "error": "CUDA out of memory"})
    assert isinstance(crashed, UpstreamError) and crashed.status == 502
    assert "CUDA out of memory" in crashed.message
    assert "canceled" in translation.failure({"status": "canceled"}).message
    assert translation.read_error({"title": "Invalid version", "detail": "No such version"}) == (
        "No such version",
        None,
        None,
    )


# ---------------------------------------------------------------- through the gateway


def test_flux_images_come_back_base64_from_one_prediction(
    gateway: Gateway, fake: FakeReplicate
) -> None:
    raw = gateway.client().images.with_raw_response.generate(
        model="black-forest-labs/flux-schnell", prompt="an iguana", n=2, size="1024x1024"
    )
    assert labels(raw.parse()) == ["an iguana#0", "an iguana#1"]
    [create] = [r for r in fake.requests if r.method == "POST"]
    assert create.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["prefer"].startswith("wait=")
    assert create.body == {
        "input": {
            "prompt": "an iguana",
            "aspect_ratio": "1:1",
            "num_outputs": 2,
            "output_format": "png",
        }
    }
    assert raw.headers["x-writingmate-images-counted"] == "2"
    [row] = gateway.ledger()
    assert (row["provider"], row["model"], row["status"]) == (
        "replicate",
        "black-forest-labs/flux-schnell",
        "completed",
    )


def test_a_slow_prediction_is_polled_until_it_succeeds(
    gateway: Gateway, fake: FakeReplicate
) -> None:
    fake.plan(polls=3)
    images = gateway.client().images.generate(
        model="black-forest-labs/flux-dev", prompt="slow", response_format="url"
    )
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == 4
    fetched = httpx.get(images.data[0].url)
    assert fetched.headers["content-type"] == "image/png"
    assert label_of(fetched.content) == "slow#0"


def test_recraft_makes_n_images_with_n_predictions(gateway: Gateway, fake: FakeReplicate) -> None:
    images = gateway.client().images.generate(model="recraft-ai/recraft-v3", prompt="cat", n=3)
    assert labels(images) == ["cat#0", "cat#0", "cat#0"]
    creates = [r for r in fake.requests if r.method == "POST"]
    assert len(creates) == 3 and all("num_outputs" not in r.body["input"] for r in creates)


def test_a_prediction_past_the_deadline_is_canceled_and_504(
    gateway: Gateway, fake: FakeReplicate
) -> None:
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", 1))
    fake.plan(polls=10_000)
    client = gateway.client()
    with pytest.raises(openai.APIStatusError) as timed_out:
        client.images.generate(model="black-forest-labs/flux-dev", prompt="never")
    assert timed_out.value.status_code == 504
    assert timed_out.value.code == "upstream_timeout"
    assert len(fake.canceled) == 1
    refunded = client.images.with_raw_response.generate(
        model="black-forest-labs/flux-dev", prompt="ok"
    )
    assert refunded.headers["x-writingmate-images-remaining"] == "0"


def test_failed_predictions_are_openai_errors(gateway: Gateway, fake: FakeReplicate) -> None:
    client = gateway.client()
    fake.plan(polls=1, status="failed", error="NSFW content detected. Try running it again.")
    with pytest.raises(openai.BadRequestError) as nsfw:
        client.images.generate(model="black-forest-labs/flux-dev", prompt="x")
    assert nsfw.value.code == "content_policy_violation"
    fake.plan(status="failed", error="Prediction crashed")
    with pytest.raises(openai.APIStatusError) as crashed:
        client.images.generate(model="stability-ai/stable-diffusion-3", prompt="x")
    assert crashed.value.status_code == 502 and "Prediction crashed" in crashed.value.message
    fake.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as limited:
        client.images.generate(model="black-forest-labs/flux-dev", prompt="x")
    assert limited.value.response.headers["retry-after-ms"] == "2000"
    assert [r["http_status"] for r in gateway.ledger()] == [400, 502, 429]


def test_a_client_that_leaves_cancels_its_prediction_and_pays_no_image(
    start_gateway: Callable[..., Gateway], fake: FakeReplicate, tmp_path: Path
) -> None:
    gateway = start(start_gateway, fake, write_catalog(tmp_path, deadline=60))
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", 1))
    fake.plan(polls=100_000)
    with pytest.raises(openai.APITimeoutError):
        gateway.client(timeout=0.5).images.generate(
            model="black-forest-labs/flux-dev", prompt="gone"
        )
    deadline = time.monotonic() + 10
    while not (fake.canceled and gateway.ledger()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.canceled) == 1
    [row] = gateway.ledger()
    assert (row["status"], row["http_status"]) == ("client_disconnected", 499)
    fake.plan()
    refunded = gateway.client().images.with_raw_response.generate(
        model="black-forest-labs/flux-dev", prompt="back"
    )
    assert refunded.headers["x-writingmate-images-remaining"] == "0"
