"""URLs the gateway fetches without having configured them (providers/http/outbound.py): refused
on private, loopback and link-local addresses unless allowed, checked on every address the
name resolves to, and connected to the address that was checked (DNS rebinding)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from starlette.types import Receive, Scope, Send

from domain.errors import InvalidRequest, UpstreamError
from domain.fetch_rules import PUBLIC_ONLY, FetchAllow, parse_allow
from providers.http import image_http, outbound
from providers.http.client import ConnectFailed
from tests.certificates import self_signed
from tests.conftest import Gateway
from tests.fakes.pngs import tiny_png
from tests.fakes.replicate_upstream import FakeReplicate
from tests.fakes.server import answer_lifespan, lower_headers, serve_asgi
from tests.test_replicate_images import TOKEN, write_catalog

LOOPBACK = parse_allow("127.0.0.1/32")


class ImageHost:
    """Serves one PNG on any path and remembers the Host header of each request."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        self.hosts.append(lower_headers(scope)["host"])
        body = tiny_png("fetched")
        headers = [(b"content-type", b"image/png"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def image_host() -> Iterator[tuple[ImageHost, int]]:
    app = ImageHost()
    with serve_asgi(app) as url:
        yield app, int(url.rsplit(":", 1)[1])


def resolver(*answers: list[str]) -> tuple[outbound.Resolver, list[str]]:
    """A resolver that gives `answers` in turn (the last one from then on), and the names it
    was asked for."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    return resolve, asked


async def fetch(url: str, allow: FetchAllow, **options: object) -> bytes:
    async with outbound.get(url, allow, **options) as response:  # type: ignore[arg-type]
        return await response.aread()


async def test_loopback_is_refused_unless_allowed(image_host: tuple[ImageHost, int]) -> None:
    _, port = image_host
    with pytest.raises(UpstreamError, match="does not fetch from"):
        await fetch(f"http://127.0.0.1:{port}/a.png", PUBLIC_ONLY)
    assert await fetch(f"http://127.0.0.1:{port}/a.png", LOOPBACK) == tiny_png("fetched")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:80/",
        "http://10.0.0.1/x.png",
        "http://0.0.0.0:8000/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
async def test_internal_addresses_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(UpstreamError, match="does not fetch from"):
        await fetch(url, LOOPBACK)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/", "http://"])
async def test_only_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(UpstreamError):
        await fetch(url, LOOPBACK)


async def test_a_users_url_is_refused_with_a_400_naming_its_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        await fetch("http://127.0.0.1/cat.png", PUBLIC_ONLY, param="messages[0].content[1]")
    error = caught.value
    assert (error.status, error.param, error.code) == (400, "messages[0].content[1]", "invalid_url")
    assert "`messages[0].content[1]`" in error.body()["error"]["message"]


async def test_a_name_is_refused_when_any_of_its_addresses_is_internal(
    image_host: tuple[ImageHost, int],
) -> None:
    app, port = image_host
    resolve, _ = resolver(["93.184.215.14", "10.0.0.7"])
    before = len(app.hosts)
    with pytest.raises(UpstreamError, match="does not fetch from"):
        await fetch(f"http://cdn.example:{port}/a.png", LOOPBACK, resolve=resolve)
    assert len(app.hosts) == before


async def test_the_connection_goes_to_the_checked_address_not_to_a_new_resolution(
    image_host: tuple[ImageHost, int],
) -> None:
    """DNS rebinding: the name is resolved once; a second answer (here 10.0.0.1, which
    would be refused, and which nothing listens on) is never asked for."""
    app, port = image_host
    resolve, asked = resolver(["127.0.0.1"], ["10.0.0.1"])
    body = await fetch(f"http://rebind.example:{port}/a.png", LOOPBACK, resolve=resolve)
    assert body == tiny_png("fetched")
    assert asked == ["rebind.example"]
    assert app.hosts[-1] == f"rebind.example:{port}"  # the name, not the address, as Host


async def test_the_next_checked_address_is_tried_when_one_refuses_the_connection(
    image_host: tuple[ImageHost, int],
) -> None:
    _, port = image_host  # bound on 127.0.0.1 only: 127.0.0.2 refuses the connection
    resolve, _ = resolver(["127.0.0.2", "127.0.0.1"])
    allow = parse_allow("127.0.0.0/8")
    assert await fetch(f"http://two.example:{port}/", allow, resolve=resolve)


async def test_an_allowed_host_name_is_fetched_wherever_it_points(
    image_host: tuple[ImageHost, int],
) -> None:
    _, port = image_host
    resolve, _ = resolver(["127.0.0.1"])
    allow = parse_allow("images.internal")
    assert await fetch(f"http://images.internal:{port}/", allow, resolve=resolve)


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UpstreamError, match="could not be resolved"):
        await fetch("http://nowhere.invalid/", PUBLIC_ONLY, resolve=fails)


async def test_the_real_resolver_resolves_localhost_to_loopback() -> None:
    assert "127.0.0.1" in await outbound.resolve_host("localhost", 80)


async def test_image_downloads_go_through_the_checks(image_host: tuple[ImageHost, int]) -> None:
    _, port = image_host
    with pytest.raises(UpstreamError, match="does not fetch from"):
        await image_http.fetch_image(f"http://127.0.0.1:{port}/a.png", PUBLIC_ONLY)
    image = await image_http.fetch_image(f"http://127.0.0.1:{port}/a.png", LOOPBACK)
    assert (image.data, image.mime_type) == (tiny_png("fetched"), "image/png")


def test_the_setting_is_read_from_the_environment() -> None:
    assert outbound.allow_from({}) == PUBLIC_ONLY
    assert outbound.allow_from({"WMGW_FETCH_ALLOW": "127.0.0.1/32"}) == LOOPBACK


def test_a_gateway_refuses_an_upstreams_link_to_its_own_network(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    """Replicate's outputs are links the gateway downloads; the fake's are on loopback, which
    a gateway without WMGW_FETCH_ALLOW does not fetch from: 502."""
    fake = FakeReplicate(api_token=TOKEN)
    with fake.serve():
        gateway = start_gateway(
            env={
                "WMGW_REPLICATE_API_TOKEN": TOKEN,
                "WMGW_REPLICATE_BASE_URL": fake.base_url or "",
                "WMGW_CATALOG": str(write_catalog(tmp_path, deadline=5)),
                "WMGW_FETCH_ALLOW": "",
            }
        )
        fake.plan()
        with pytest.raises(openai.InternalServerError) as caught:
            gateway.client().images.generate(
                model="black-forest-labs/flux-schnell", prompt="an otter"
            )
        assert caught.value.status_code == 502
        assert "does not fetch from" in caught.value.message


async def test_https_connects_to_the_address_and_verifies_the_certificate_of_the_name(
    tmp_path: Path,
) -> None:
    cert_file, key_file = self_signed(tmp_path, "images.example")
    trusted = ssl.create_default_context(cafile=str(cert_file))
    app = ImageHost()
    with serve_asgi(app, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as url:
        port = int(url.rsplit(":", 1)[1])
        resolve, _ = resolver(["127.0.0.1"])
        url = f"https://images.example:{port}/a.png"
        body = await fetch(url, LOOPBACK, resolve=resolve, ssl_context=trusted)
        assert body == tiny_png("fetched")
        wrong, _ = resolver(["127.0.0.1"])
        with pytest.raises(ConnectFailed, match="certificate"):
            other = f"https://other.example:{port}/a.png"
            await fetch(other, LOOPBACK, resolve=wrong, ssl_context=trusted)
