"""OpenRouter's image models through `POST /images/generations`: chat completions with
`modalities`, answered by the fake OpenRouter (tests/fakes/openrouter_upstream.py), checked with
the official SDK, translated by pure functions, and driven through a real gateway."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from domain import sealing
from domain.catalog import ModelEntry
from domain.images import image_request
from providers.openai_compatible import openrouter_images, openrouter_models
from storage import accounts, provider_keys
from tests.conftest import SERVER_SECRET, Gateway
from tests.fakes.openrouter_upstream import FakeOpenRouter
from tests.fakes.pngs import label_of, tiny_png
from tests.leak_watch import WATCH

KEY = "sk-or-v1-images-test-key"
MODEL = "google/gemini-2.5-flash-image"
SAMPLE = Path(__file__).parent / "fixtures" / "openrouter-models.json"


def data_url(label: str) -> str:
    return "data:image/png;base64," + base64.b64encode(tiny_png(label)).decode()


@pytest.fixture(scope="module")
def openrouter_server() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter(api_key=KEY)
    with fake.serve():
        yield fake


@pytest.fixture
def fake(openrouter_server: FakeOpenRouter) -> FakeOpenRouter:
    openrouter_server.reset()
    return openrouter_server


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway], fake: FakeOpenRouter) -> Gateway:
    return start_gateway(
        env={"WMGW_OPENROUTER_API_KEY": KEY, "WMGW_OPENROUTER_BASE_URL": fake.base_url}
    )


def test_fake_answers_image_output_to_the_official_sdk(fake: FakeOpenRouter) -> None:
    fake.reply("Here it is.", images=[data_url("otter")])
    client = openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "an otter"}],
        extra_body={"modalities": ["image", "text"]},
    )
    [image] = completion.choices[0].message.model_extra["images"]
    assert image["type"] == "image_url"
    assert image["image_url"]["url"] == data_url("otter")


def test_the_prompt_is_one_user_message_asking_for_image_output() -> None:
    request = image_request({"prompt": "a fox", "size": "1024x1792", "user": "u"})
    entry = ModelEntry(MODEL, "openrouter", MODEL, 0, "google")
    assert openrouter_images.to_upstream(request, entry) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "a fox"}],
        "modalities": ["image", "text"],
        "stream": False,
        "image_config": {"aspect_ratio": "9:16"},
        "user": "u",
    }


def test_images_are_read_from_data_urls_and_anything_else_is_kept_as_a_link() -> None:
    completion = {
        "choices": [
            {
                "message": {
                    "content": "",
                    "images": [
                        {"type": "image_url", "image_url": {"url": data_url("a")}},
                        {"type": "image_url", "image_url": {"url": "https://cdn.example/b.png"}},
                        {"type": "image_url", "image_url": {"url": "data:text/html;base64,PGI+"}},
                    ],
                }
            }
        ]
    }
    inline, remote = openrouter_images.images_of(completion)
    assert [label_of(i.data) for i in inline] == ["a"]
    assert remote == ["https://cdn.example/b.png"]


def test_synced_image_output_models_serve_images() -> None:
    rows = openrouter_models.catalog_rows(json.loads(SAMPLE.read_text()), "openrouter", ["*"])
    painters = {row["slug"] for row in rows if "images" in row["capabilities"]}
    assert MODEL in painters
    assert "anthropic/claude-sonnet-4.5" not in painters


def test_n_images_are_n_completions_with_their_tokens_added(
    gateway: Gateway, fake: FakeOpenRouter
) -> None:
    fake.reply("", images=[data_url("first")], prompt_tokens=7, completion_tokens=1290)
    fake.reply("", images=[data_url("second")], prompt_tokens=7, completion_tokens=1290)
    images = gateway.client().images.generate(model=MODEL, prompt="two cats", n=2)
    labels = sorted(label_of(base64.b64decode(i.b64_json)) for i in images.data)
    assert labels == ["first", "second"]
    assert len(fake.requests) == 2
    sent = fake.requests[0]
    assert sent.body["modalities"] == ["image", "text"]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-title"] == "Writingmate Gateway"
    [row] = gateway.ledger()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (14, 2580)
    assert (row["provider"], row["messages"]) == ("openrouter", 1)


def test_an_answer_without_an_image_is_a_502_and_counts_nothing(
    gateway: Gateway, fake: FakeOpenRouter
) -> None:
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", 1))
    fake.reply("I can only describe it in words.")
    client = gateway.client()
    with pytest.raises(openai.APIStatusError) as failed:
        client.images.generate(model=MODEL, prompt="x")
    assert failed.value.status_code == 502
    fake.reply("", images=[data_url("ok")])
    ok = client.images.with_raw_response.generate(model=MODEL, prompt="x")
    assert ok.headers["x-writingmate-images-remaining"] == "0"


def test_upstream_out_of_credit_is_503_not_retried(gateway: Gateway, fake: FakeOpenRouter) -> None:
    fake.fail(402)
    with pytest.raises(openai.APIStatusError) as failed:
        gateway.client().images.generate(model=MODEL, prompt="x")
    assert failed.value.status_code == 503
    assert failed.value.response.headers["x-should-retry"] == "false"


def test_with_the_users_own_key_images_draw_on_no_limit(
    gateway: Gateway, fake: FakeOpenRouter
) -> None:
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", 0))
    own = "sk-or-v1-users-own-key"
    WATCH.remember(own)
    sealed = sealing.seal(SERVER_SECRET.encode(), own, gateway.user_id)
    gateway.db(lambda conn: provider_keys.put(conn, gateway.user_id, "openrouter", sealed))
    fake.api_key = own
    try:
        fake.reply("", images=[data_url("mine")])
        raw = gateway.client().images.with_raw_response.generate(model=MODEL, prompt="x")
    finally:
        fake.api_key = KEY
    assert label_of(base64.b64decode(raw.parse().data[0].b64_json)) == "mine"
    assert "x-writingmate-images-remaining" not in raw.headers
    [row] = gateway.ledger()
    assert row["byok"]
