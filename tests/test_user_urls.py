"""The gateway never downloads a URL a user gives it. An image by URL goes upstream as the URL
(OpenAI-compatible upstreams, Anthropic's `source.type: url`), for the provider to fetch from
its own network; Gemini, which takes images inline only, refuses it with a 400 rather than the
gateway fetching it. So a user's URL pointing into the gateway's network reaches nothing
there, and the only URLs the gateway fetches are upstreams' links (providers/http/outbound.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from domain.videos import spec_from
from providers.openai_compatible import videos as openai_videos
from tests.conftest import Gateway
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.test_outbound import ImageHost
from tests.test_video_rules import SORA

ANTHROPIC_KEY = "sk-ant-upstream-test-key-urls"


@pytest.fixture(scope="module")
def image_host() -> Iterator[tuple[ImageHost, str]]:
    """An image server on loopback, the address a user's URL must not make the gateway reach
    (the gateways of these tests allow loopback links from upstreams: WMGW_FETCH_ALLOW)."""
    app = ImageHost()
    with serve_asgi(app) as url:
        yield app, f"{url}/private.png"


def looking_at(url: str) -> list[dict[str, object]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def test_an_openai_compatible_upstream_gets_the_users_url_not_its_content(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, image_host: tuple[ImageHost, str]
) -> None:
    host, url = image_host
    before = len(host.hosts)
    gateway.client().chat.completions.create(model="openai/gpt-5-mini", messages=looking_at(url))
    gateway.client().responses.create(
        model="openai/gpt-5-mini",
        input=[{"role": "user", "content": [{"type": "input_image", "image_url": url}]}],
    )
    sent = [request.body for request in fake_openai.requests]
    assert sent[0]["messages"][0]["content"][1]["image_url"]["url"] == url
    assert url in str(sent[1])
    assert len(host.hosts) == before


def test_anthropic_gets_the_users_url_as_a_url_source(
    start_gateway: Callable[..., Gateway], image_host: tuple[ImageHost, str]
) -> None:
    host, url = image_host
    before = len(host.hosts)
    fake = FakeAnthropicUpstream(api_key=ANTHROPIC_KEY)
    with fake.serve():
        gateway = start_gateway(
            env={
                "WMGW_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
                "WMGW_ANTHROPIC_BASE_URL": str(fake.base_url),
            }
        )
        fake.reply("A picture.")
        gateway.client().chat.completions.create(
            model="anthropic/claude-haiku-4.5", messages=looking_at(url)
        )
    block = fake.requests[0].body["messages"][0]["content"][1]
    assert block == {"type": "image", "source": {"type": "url", "url": url}}
    assert len(host.hosts) == before


def test_gemini_refuses_a_users_url_instead_of_fetching_it(
    gemini_gateway: Gateway, fake_gemini: FakeGeminiUpstream, image_host: tuple[ImageHost, str]
) -> None:
    host, url = image_host
    before = len(host.hosts)
    with pytest.raises(openai.BadRequestError) as caught:
        gemini_gateway.client().chat.completions.create(
            model="google/gemini-2.5-flash", messages=looking_at(url)
        )
    assert caught.value.body["code"] == "unsupported_image_url"  # type: ignore[index]
    assert fake_gemini.requests == []
    assert len(host.hosts) == before


def test_a_video_reference_by_url_goes_upstream_as_the_url() -> None:
    url = "http://127.0.0.1/private.png"
    spec = spec_from({"prompt": "x", "input_reference": {"image_url": url}}, None)
    body, _, files = openai_videos.create_request(spec, SORA)
    assert body is not None and body["input_reference"] == {"image_url": url}
    assert files is None
