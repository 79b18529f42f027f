"""Imagen through the gateway's `google` provider: the fake `:predict`
(tests/fakes/imagen_upstream.py) checked with the google-genai SDK, the pure translators, and
the official `openai` SDK talking to a real gateway in front of the fake."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable, Iterator

import openai
import pytest
from google import genai
from google.genai import types

from domain.errors import InvalidRequest
from domain.images import image_request
from providers.gemini import imagen
from tests.conftest import Gateway
from tests.fakes.imagen_upstream import FakeImagen
from tests.fakes.pngs import label_of, tiny_png

KEY = "AIza-imagen-upstream-test-key"


@pytest.fixture(scope="module")
def imagen_server() -> Iterator[FakeImagen]:
    fake = FakeImagen(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(imagen_server: FakeImagen) -> FakeImagen:
    imagen_server.reset()
    return imagen_server


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway], fake: FakeImagen) -> Gateway:
    return start_gateway(env={"WMGW_GEMINI_API_KEY": KEY, "WMGW_GEMINI_BASE_URL": fake.base_url})


def test_fake_predict_speaks_to_the_google_genai_sdk(fake: FakeImagen) -> None:
    # google-genai generates images only in Vertex mode; its express mode takes an API key and
    # sends the same predict body as the Gemini API.
    client = genai.Client(
        vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=fake.base_url)
    )
    fake.reply(filtered=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generate_images is marked deprecated
        answer = client.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt="an otter",
            config=types.GenerateImagesConfig(
                number_of_images=3, aspect_ratio="16:9", include_rai_reason=True
            ),
        )
    kept = [g for g in answer.generated_images if g.image and g.image.image_bytes]
    assert [label_of(g.image.image_bytes) for g in kept] == ["an otter#0", "an otter#1"]
    assert answer.generated_images[2].rai_filtered_reason
    assert fake.requests[0].body["parameters"]["sampleCount"] == 3


def test_request_maps_n_and_size_to_sample_count_and_the_nearest_aspect_ratio() -> None:
    assert imagen.to_upstream(image_request({"prompt": "p", "n": 3, "size": "1536x1024"})) == {
        "instances": [{"prompt": "p"}],
        "parameters": {
            "sampleCount": 3,
            "aspectRatio": "4:3",
            "outputOptions": {"mimeType": "image/png"},
            "includeRaiReason": True,
            "sampleImageSize": "2K",
        },
    }
    square = imagen.to_upstream(image_request({"prompt": "p"}))["parameters"]
    assert (square["aspectRatio"], "sampleImageSize" in square) == ("1:1", False)
    with pytest.raises(InvalidRequest) as too_many:
        imagen.to_upstream(image_request({"prompt": "p", "n": 5}))
    assert too_many.value.param == "n"


def test_filtered_predictions_are_left_out_and_all_filtered_is_a_policy_error() -> None:
    png = base64.b64encode(tiny_png("x")).decode()
    result = imagen.from_upstream(
        {
            "predictions": [
                {"mimeType": "image/png", "bytesBase64Encoded": png},
                {"raiFilteredReason": "filtered"},
            ]
        }
    )
    assert [label_of(i.data) for i in result.images] == ["x"]
    with pytest.raises(InvalidRequest) as refused:
        imagen.from_upstream({"predictions": [{"raiFilteredReason": "Sexually explicit"}]})
    assert refused.value.code == "content_policy_violation"
    assert "Sexually explicit" in refused.value.message
    with pytest.raises(InvalidRequest):
        imagen.from_upstream({})  # everything filtered without reasons: no predictions at all


def test_imagen_images_through_the_gateway(gateway: Gateway, fake: FakeImagen) -> None:
    raw = gateway.client().images.with_raw_response.generate(
        model="google/imagen-4-fast", prompt="a red panda", n=2, size="1792x1024"
    )
    images = raw.parse()
    assert [label_of(base64.b64decode(i.b64_json)) for i in images.data] == [
        "a red panda#0",
        "a red panda#1",
    ]
    assert images.output_format == "png"
    [sent] = fake.requests
    assert sent.path == "/v1beta/models/imagen-4.0-fast-generate-001:predict"
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.body["parameters"]["aspectRatio"] == "16:9"
    [row] = gateway.ledger()
    assert (row["provider"], row["model"]) == ("google", "google/imagen-4-fast")


def test_only_the_images_imagen_returns_are_counted(gateway: Gateway, fake: FakeImagen) -> None:
    fake.reply(filtered=1)
    raw = gateway.client().images.with_raw_response.generate(
        model="google/imagen-4", prompt="crowd", n=3
    )
    assert len(raw.parse().data) == 2
    assert raw.headers["x-writingmate-images-counted"] == "2"


def test_imagen_errors_are_openai_errors(gateway: Gateway, fake: FakeImagen) -> None:
    client = gateway.client()
    fake.reply(filtered=2)
    with pytest.raises(openai.BadRequestError) as filtered:
        client.images.generate(model="google/imagen-4", prompt="x", n=2)
    assert filtered.value.code == "content_policy_violation"
    fake.fail(429)
    with pytest.raises(openai.RateLimitError) as limited:
        client.images.generate(model="google/imagen-4", prompt="x")
    assert limited.value.response.headers["retry-after-ms"] == "37000"
    with pytest.raises(openai.BadRequestError) as too_many:
        client.images.generate(model="google/imagen-4", prompt="x", n=5)
    assert too_many.value.param == "n"
    fake.api_key = "AIza-rotated"
    try:
        with pytest.raises(openai.APIStatusError) as refused:
            client.images.generate(model="google/imagen-4", prompt="x")
    finally:
        fake.api_key = KEY
    assert refused.value.status_code == 502
