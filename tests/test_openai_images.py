"""OpenAI's image models through the gateway: the fake `/v1/images/generations`
(tests/fakes/openai_images_upstream.py) checked with the official SDK, the pure translators,
and the official SDK talking to a real gateway in front of the fake."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from domain.catalog import ModelEntry
from domain.images import image_request
from providers.openai_compatible import images as openai_images
from storage import accounts
from tests.conftest import Gateway
from tests.fakes.openai_errors import openai_error, rate_limit_error
from tests.fakes.openai_images_upstream import FakeOpenAIImages
from tests.fakes.pngs import label_of

KEY = "sk-images-upstream-key"


def entry(upstream_id: str) -> ModelEntry:
    return ModelEntry(f"openai/{upstream_id}", "openai", upstream_id, 0, "openai")


@pytest.fixture(scope="module")
def images_server() -> Iterator[FakeOpenAIImages]:
    fake = FakeOpenAIImages(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(images_server: FakeOpenAIImages) -> FakeOpenAIImages:
    images_server.reset()
    return images_server


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway], fake: FakeOpenAIImages) -> Gateway:
    return start_gateway(
        env={"WMGW_OPENAI_API_KEY": KEY, "WMGW_OPENAI_BASE_URL": f"{fake.base_url}/v1"}
    )


# ---------------------------------------------------------------- the fake, checked with the SDK


def test_fake_speaks_openai_images_to_the_official_sdk(fake: FakeOpenAIImages) -> None:
    client = openai.OpenAI(base_url=f"{fake.base_url}/v1", api_key=KEY, max_retries=0)
    linked = client.images.generate(model="dall-e-3", prompt="an otter")
    assert linked.data[0].revised_prompt == "A detailed image of an otter"
    assert label_of(httpx.get(linked.data[0].url).content) == "an otter#0"
    gpt = client.images.generate(model="gpt-image-1", prompt="two words", n=2, quality="low")
    assert [label_of(base64.b64decode(i.b64_json)) for i in gpt.data] == [
        "two words#0",
        "two words#1",
    ]
    assert gpt.usage.input_tokens == 2 and gpt.usage.output_tokens == 2 * 272
    assert (gpt.quality, gpt.size, gpt.output_format) == ("low", "1024x1024", "png")
    with pytest.raises(openai.BadRequestError) as too_many:
        client.images.generate(model="dall-e-3", prompt="x", n=2)
    assert too_many.value.param == "n"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.images.generate(model="gpt-image-1", prompt="x", response_format="url")
    assert unknown.value.code == "unknown_parameter"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=f"{fake.base_url}/v1", api_key="sk-wrong", max_retries=0
        ).images.generate(model="dall-e-3", prompt="x")


# ---------------------------------------------------------------- pure translation


def test_dalle_is_always_asked_for_base64_and_gets_style_but_no_gpt_options() -> None:
    request = image_request(
        {
            "prompt": "p",
            "style": "natural",
            "response_format": "url",
            "background": "opaque",
            "size": "1024x1792",
            "quality": "hd",
        }
    )
    assert openai_images.to_upstream(request, entry("dall-e-3")) == {
        "model": "dall-e-3",
        "prompt": "p",
        "n": 1,
        "size": "1024x1792",
        "quality": "hd",
        "response_format": "b64_json",
        "style": "natural",
    }


def test_gpt_image_models_get_their_options_and_never_response_format_or_style() -> None:
    request = image_request(
        {
            "prompt": "p",
            "n": 2,
            "style": "vivid",
            "response_format": "url",
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 50,
            "moderation": "low",
            "user": "u1",
        }
    )
    assert openai_images.to_upstream(request, entry("gpt-image-1")) == {
        "model": "gpt-image-1",
        "prompt": "p",
        "n": 2,
        "user": "u1",
        "background": "transparent",
        "output_format": "webp",
        "output_compression": 50,
        "moderation": "low",
    }


def test_an_images_response_is_decoded_with_its_usage_and_media_type() -> None:
    result = openai_images.from_upstream(
        {
            "created": 1,
            "output_format": "webp",
            "size": "1024x1024",
            "data": [{"b64_json": base64.b64encode(b"RIFF....WEBP").decode()}],
            "usage": {
                "input_tokens": 5,
                "output_tokens": 272,
                "total_tokens": 277,
                "input_tokens_details": {"text_tokens": 5, "image_tokens": 0},
            },
        }
    )
    [image] = result.images
    assert (image.data, image.mime_type) == (b"RIFF....WEBP", "image/webp")
    assert (result.prompt_tokens, result.completion_tokens) == (5, 272)
    assert result.details == {"output_format": "webp", "size": "1024x1024"}


# ---------------------------------------------------------------- through the gateway


def test_gpt_image_answers_base64_with_openai_usage(
    gateway: Gateway, fake: FakeOpenAIImages
) -> None:
    raw = gateway.client().images.with_raw_response.generate(
        model="openai/gpt-image-1", prompt="a sea otter", n=2, quality="medium"
    )
    images = raw.parse()
    assert [label_of(base64.b64decode(i.b64_json)) for i in images.data] == [
        "a sea otter#0",
        "a sea otter#1",
    ]
    assert images.usage.output_tokens == 2 * 1056
    assert (images.quality, images.size, images.output_format) == ("medium", "1024x1024", "png")
    [sent] = fake.requests
    assert sent.body == {
        "model": "gpt-image-1",
        "prompt": "a sea otter",
        "n": 2,
        "quality": "medium",
    }
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert raw.headers["x-writingmate-images-counted"] == "2"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"]) == (
        3,
        2112,
        False,
    )
    assert (row["provider"], row["endpoint"]) == ("openai", "images.generations")


def test_dalle_url_is_the_gateways_own_link_never_openais(
    gateway: Gateway, fake: FakeOpenAIImages
) -> None:
    images = gateway.client().images.generate(
        model="openai/dall-e-3", prompt="a lighthouse", response_format="url", style="vivid"
    )
    [image] = images.data
    assert image.url.startswith(f"{gateway.base_url}/images/files/")
    assert image.revised_prompt == "A detailed image of a lighthouse"
    assert label_of(httpx.get(image.url).content) == "a lighthouse#0"
    assert fake.requests[0].body["response_format"] == "b64_json"
    assert fake.files == {}  # OpenAI's own link was never asked for


def test_upstream_refusal_reaches_the_client_and_refunds_the_images(
    gateway: Gateway, fake: FakeOpenAIImages
) -> None:
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", 1))
    fake.fail(
        400,
        openai_error(
            "Your request was rejected as a result of our safety system.",
            code="content_policy_violation",
        ),
    )
    client = gateway.client()
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="openai/dall-e-3", prompt="forbidden")
    assert refused.value.code == "content_policy_violation"
    fine = client.images.with_raw_response.generate(model="openai/dall-e-3", prompt="fine")
    assert fine.headers["x-writingmate-images-remaining"] == "0"
    assert [r["status"] for r in gateway.ledger()] == ["upstream_error", "completed"]


def test_upstream_rate_limit_and_bad_key_map_to_openai_errors(
    gateway: Gateway, fake: FakeOpenAIImages
) -> None:
    fake.fail(429, rate_limit_error("gpt-image-1"))
    client = gateway.client()
    with pytest.raises(openai.RateLimitError) as limited:
        client.images.generate(model="openai/gpt-image-1", prompt="x")
    assert limited.value.code == "rate_limit_exceeded"
    fake.api_key = "sk-rotated"
    try:
        with pytest.raises(openai.APIStatusError) as refused:
            client.images.generate(model="openai/gpt-image-1", prompt="x")
    finally:
        fake.api_key = KEY
    assert refused.value.status_code == 502
    assert "refused the gateway's request" in refused.value.message
