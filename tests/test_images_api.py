"""`POST /images/generations` end to end with the official `openai` SDK, on the offline
`writingmate/echo-image` model: base64 and URL answers, the gateway's own expiring links, the
daily image limit, and the ledger."""

from __future__ import annotations

import asyncio
import base64
import struct
import time
import zlib
from collections.abc import Callable

import httpx
import openai
import pytest

from storage import accounts, quota
from tests.conftest import Gateway

MODEL = "writingmate/echo-image"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking the file is a PNG."""
    assert data.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_pixels_decompress(data: bytes) -> int:
    """Bytes of the decompressed pixel data (proves the IDAT stream is valid zlib)."""
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    return len(zlib.decompress(data[start : start + length]))


def set_image_limit(gateway: Gateway, limit: int | None) -> None:
    gateway.db(lambda conn: accounts.set_plan_image_limit(conn, "team", limit))


def test_b64_json_is_the_default_and_is_a_real_png_of_the_asked_size(gateway: Gateway) -> None:
    raw = gateway.client().images.with_raw_response.generate(
        model=MODEL, prompt="A cute baby sea otter", size="320x200"
    )
    images = raw.parse()
    [image] = images.data
    assert image.url is None
    data = base64.b64decode(image.b64_json)
    assert png_size(data) == (320, 200)
    assert png_pixels_decompress(data) == 200 * (1 + 320 * 3)
    assert abs(images.created - time.time()) < 60
    assert raw.headers["x-writingmate-images-counted"] == "1"
    assert raw.headers["x-writingmate-messages-counted"] == "1"
    assert "x-writingmate-images-remaining" not in raw.headers  # the plan is unlimited


def test_same_prompt_same_image_and_the_n_images_of_a_request_differ(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.images.generate(model=MODEL, prompt="a red fox", n=3, size="64x64")
    again = client.images.generate(model=MODEL, prompt="a red fox", n=1, size="64x64")
    other = client.images.generate(model=MODEL, prompt="a blue fox", n=1, size="64x64")
    pngs = [base64.b64decode(i.b64_json) for i in first.data]
    assert len(set(pngs)) == 3
    assert base64.b64decode(again.data[0].b64_json) == pngs[0]
    assert base64.b64decode(other.data[0].b64_json) != pngs[0]


def test_url_answer_is_served_by_the_gateway_without_a_key(gateway: Gateway) -> None:
    images = gateway.client().images.generate(
        model=MODEL, prompt="A lighthouse", n=2, size="128x96", response_format="url"
    )
    assert [i.b64_json for i in images.data] == [None, None]
    urls = [i.url for i in images.data]
    assert len(set(urls)) == 2
    for url in urls:
        assert url.startswith(f"{gateway.base_url}/images/files/")
        response = httpx.get(url)  # no Authorization header
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert png_size(response.content) == (128, 96)
        max_age = int(response.headers["cache-control"].split("max-age=")[1])
        assert 3500 < max_age <= 3600


def test_url_and_b64_answers_carry_the_same_image(gateway: Gateway) -> None:
    client = gateway.client()
    inline = client.images.generate(model=MODEL, prompt="same", size="32x32")
    linked = client.images.generate(model=MODEL, prompt="same", size="32x32", response_format="url")
    fetched = httpx.get(linked.data[0].url).content
    assert fetched == base64.b64decode(inline.data[0].b64_json)


def test_a_guessed_or_altered_image_url_is_404_in_openai_shape(gateway: Gateway) -> None:
    images = gateway.client().images.generate(
        model=MODEL, prompt="secret", response_format="url", size="16x16"
    )
    url = images.data[0].url
    token, ext = url.rsplit("/", 1)[1].split(".")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    guesses = [
        f"{gateway.base_url}/images/files/{flipped}.{ext}",
        f"{gateway.base_url}/images/files/{token}.jpeg",
        f"{gateway.base_url}/images/files/{'A' * len(token)}.png",
    ]
    for guess in guesses:
        response = httpx.get(guess)
        assert response.status_code == 404, guess
        assert response.json()["error"]["code"] == "image_not_found"
    assert httpx.get(url).status_code == 200


def test_image_links_expire(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(env={"WMGW_IMAGE_URL_TTL_SECONDS": "2"})
    images = gateway.client().images.generate(
        model=MODEL, prompt="fleeting", response_format="url", size="16x16"
    )
    assert httpx.get(images.data[0].url).status_code == 200
    time.sleep(3.1)
    expired = httpx.get(images.data[0].url)
    assert expired.status_code == 404
    assert expired.json()["error"]["type"] == "invalid_request_error"


def test_links_use_the_configured_public_url(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(env={"WMGW_PUBLIC_URL": "https://images.example.com/"})
    images = gateway.client().images.generate(
        model=MODEL, prompt="public", response_format="url", size="16x16"
    )
    url = images.data[0].url
    assert url.startswith("https://images.example.com/api/openai/v1/images/files/")
    local = url.replace("https://images.example.com", gateway.root)
    assert httpx.get(local).status_code == 200


def test_images_are_stored_in_the_configured_directory(
    start_gateway: Callable[..., Gateway], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    directory = tmp_path / "store"
    gateway = start_gateway(env={"WMGW_IMAGE_DIR": str(directory)})
    gateway.client().images.generate(
        model=MODEL, prompt="stored", response_format="url", size="16x16", n=2
    )
    stored = sorted(p.suffix for p in directory.iterdir())
    assert stored == [".png", ".png"]


def test_each_request_leaves_one_ledger_row(gateway: Gateway) -> None:
    raw = gateway.client().images.with_raw_response.generate(
        model=MODEL, prompt="one two three", n=2, size="16x16"
    )
    [row] = gateway.ledger()
    assert row["request_id"] == raw.headers["x-request-id"]
    assert (row["endpoint"], row["model"], row["provider"]) == (
        "images.generations",
        MODEL,
        "writingmate",
    )
    assert (row["status"], row["http_status"], row["messages"]) == ("completed", 200, 1)
    assert row["prompt_tokens"] == 3 and row["usage_estimated"]
    [day] = gateway.db(lambda conn: quota.counters(conn, gateway.workspace_id, "images"))
    assert (day["used"], day["reserved"]) == (2, 0)


def test_daily_image_limit_counts_down_then_refuses_with_insufficient_quota(
    gateway: Gateway,
) -> None:
    set_image_limit(gateway, 3)
    client = gateway.client()
    raw = client.images.with_raw_response.generate(model=MODEL, prompt="a", n=2, size="16x16")
    assert raw.headers["x-writingmate-images-counted"] == "2"
    assert raw.headers["x-writingmate-images-remaining"] == "1"
    with pytest.raises(openai.RateLimitError) as refused:
        client.images.generate(model=MODEL, prompt="b", n=2, size="16x16")
    assert refused.value.code == "insufficient_quota"
    assert refused.value.response.headers["x-should-retry"] == "false"
    last = client.images.with_raw_response.generate(model=MODEL, prompt="c", size="16x16")
    assert last.headers["x-writingmate-images-remaining"] == "0"
    assert len(gateway.ledger()) == 2  # the refused request never reached the model


def test_concurrent_requests_never_pass_the_image_limit(gateway: Gateway) -> None:
    set_image_limit(gateway, 7)

    async def burst() -> list[object]:
        client = gateway.async_client()
        calls = [
            client.images.generate(model=MODEL, prompt=f"p{i}", n=2, size="16x16")
            for i in range(12)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await client.close()
        return results

    results = asyncio.run(burst())
    admitted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert (len(admitted), len(refused)) == (3, 9)
    [day] = gateway.db(lambda conn: quota.counters(conn, gateway.workspace_id, "images"))
    assert (day["used"], day["reserved"]) == (6, 0)


def test_a_failed_request_refunds_its_images(gateway: Gateway) -> None:
    set_image_limit(gateway, 2)
    client = gateway.client()
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(model=MODEL, prompt="huge", n=2, size="4096x4096")
    assert bad.value.body["param"] == "size"
    raw = client.images.with_raw_response.generate(model=MODEL, prompt="ok", n=2, size="16x16")
    assert raw.headers["x-writingmate-images-remaining"] == "0"
    failed, ok = gateway.ledger()
    assert (failed["status"], failed["http_status"], failed["messages"]) == (
        "upstream_error",
        400,
        0,
    )
    assert ok["status"] == "completed"


def test_a_chat_model_is_not_an_image_model(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().images.generate(model="writingmate/echo", prompt="x")
    assert caught.value.code == "model_not_supported"
    with pytest.raises(openai.NotFoundError) as unknown:
        gateway.client().images.generate(model="nobody/nothing", prompt="x")
    assert unknown.value.code == "model_not_found"


def test_an_image_model_is_not_a_chat_model(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "model_not_supported"


def test_bad_parameters_are_400_naming_the_field(gateway: Gateway) -> None:
    client = gateway.client()
    for options, param in [
        ({"n": 11}, "n"),
        ({"size": "big"}, "size"),
        ({"response_format": "gif"}, "response_format"),
        ({"stream": True}, "stream"),
    ]:
        with pytest.raises(openai.BadRequestError) as bad:
            client.images.generate(model=MODEL, prompt="x", **options)  # type: ignore[arg-type]
        assert bad.value.body["param"] == param, options
    with pytest.raises(openai.BadRequestError) as missing:
        client.images.generate(model=MODEL, prompt="")
    assert missing.value.body["param"] == "prompt"
