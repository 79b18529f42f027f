"""The pure parts of image generation: request defaults and sizes, signed expiring links, the
offline PNG, and the store's expiry and sweeping on a real directory."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path

import pytest

from domain import image_links
from domain.errors import InvalidRequest
from domain.images import aspect_ratio, image_request, parse_size
from gateway.image_store import ImageStore
from providers.echo import images as echo_images

KEY = image_links.link_key(b"server-secret")


def test_b64_json_is_the_default_response_format_and_nulls_mean_unset() -> None:
    request = image_request(
        {"prompt": "p", "n": None, "size": None, "response_format": None, "background": None}
    )
    assert (request.n, request.size, request.response_format) == (1, None, "b64_json")
    assert request.options == {}
    assert image_request({"prompt": "p", "response_format": "url"}).response_format == "url"


@pytest.mark.parametrize(
    ("size", "expected"),
    [("1024x1024", (1024, 1024)), ("1792x1024", (1792, 1024)), ("auto", None), (None, None)],
)
def test_sizes_parse(size: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_size(size) == expected


@pytest.mark.parametrize("size", ["1024", "0x10", "10x", "big", "1024X1024", "-1x4"])
def test_malformed_sizes_are_400_on_size(size: str) -> None:
    with pytest.raises(InvalidRequest) as bad:
        image_request({"prompt": "p", "size": size})
    assert bad.value.param == "size"


@pytest.mark.parametrize(
    ("dimensions", "ratio"),
    [
        (None, "1:1"),
        ((1024, 1024), "1:1"),
        ((1792, 1024), "16:9"),
        ((1024, 1792), "9:16"),
        ((1536, 1024), "4:3"),
        ((1024, 1536), "3:4"),
        ((4000, 100), "16:9"),
    ],
)
def test_sizes_map_to_the_nearest_accepted_aspect_ratio(
    dimensions: tuple[int, int] | None, ratio: str
) -> None:
    assert aspect_ratio(dimensions) == ratio


def test_a_link_parses_back_until_it_expires() -> None:
    link = image_links.new_link("image/webp", expires_at=1000)
    name = link.name(KEY)
    assert name.endswith(".webp")
    assert image_links.parse(KEY, name, now=999) == link
    assert image_links.parse(KEY, name, now=1000) is None
    assert len(link.image_id) * 8 >= 128


def test_forged_altered_or_foreign_links_are_refused() -> None:
    link = image_links.new_link("image/png", expires_at=10**10)
    name = link.name(KEY)
    token = name.removesuffix(".png")
    assert image_links.parse(image_links.link_key(b"another secret"), name, 0) is None
    assert image_links.parse(KEY, f"{token}.jpeg", 0) is None  # the extension is signed
    for position in (0, len(token) // 2, len(token) - 1):
        other = "B" if token[position] == "A" else "A"
        altered = token[:position] + other + token[position + 1 :]
        assert image_links.parse(KEY, f"{altered}.png", 0) is None, position
    assert image_links.parse(KEY, f"{token}==.png", 0) is None
    later = image_links.ImageLink(link.image_id, link.expires_at + 1, "png").name(b"x" * 32)
    assert image_links.parse(KEY, later, 0) is None
    for junk in ["", ".png", "abc.png", "é.png", f"{token}.exe", f"{token}"]:
        assert image_links.parse(KEY, junk, 0) is None


def test_unknown_media_types_are_stored_as_png_names() -> None:
    assert image_links.new_link("application/octet-stream", 1).extension == "png"
    assert image_links.new_link("image/jpeg; charset=binary", 1).extension == "jpeg"


def test_the_offline_png_is_valid_and_deterministic() -> None:
    data = echo_images.png(40, 30, "prompt", 0)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", data[16:24]) == (40, 30)
    offset = 8
    chunks = []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        chunks.append((kind, body))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(chunks[1][1])) == 30 * (1 + 40 * 3)
    assert echo_images.png(40, 30, "prompt", 0) == data
    assert echo_images.png(40, 30, "prompt", 1) != data


def test_the_store_serves_until_expiry_and_sweeps_expired_files(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = ImageStore(tmp_path, b"secret", ttl_seconds=60, clock=lambda: now[0])

    async def scenario() -> None:
        first = await store.put(b"one", "image/png")
        stored = await store.get(first)
        assert stored is not None and (stored.data, stored.media_type) == (b"one", "image/png")
        now[0] += 61
        assert await store.get(first) is None
        assert len(list(tmp_path.iterdir())) == 1  # not swept yet: the last sweep was recent
        now[0] += 60
        second = await store.put(b"two", "image/jpeg")
        assert [p.name.endswith(".jpeg") for p in tmp_path.iterdir()] == [True]
        assert (await store.get(second)).media_type == "image/jpeg"  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_another_host_with_the_same_secret_and_directory_serves_the_link(tmp_path: Path) -> None:
    one = ImageStore(tmp_path, b"shared", ttl_seconds=60)
    two = ImageStore(tmp_path, b"shared", ttl_seconds=60)
    stranger = ImageStore(tmp_path, b"other", ttl_seconds=60)

    async def scenario() -> None:
        name = await one.put(b"img", "image/png")
        assert (await two.get(name)).data == b"img"  # type: ignore[union-attr]
        assert await stranger.get(name) is None

    asyncio.run(scenario())
