"""deploy/nginx.conf in front of a running gateway: streams reach the client chunk by chunk,
as the upstream sends them, not at the end; the probes and x-request-id pass through."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise

import httpx
import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.services.nginx import local_nginx, server_bin

pytestmark = pytest.mark.skipif(
    server_bin() is None,
    reason="nginx is not installed (tests/services/ensure-nginx.sh installs it as root)",
)

CHUNKS = ["one ", "two ", "three ", "four"]
CHUNK_DELAY = 0.3  # seconds between two chunks from the upstream


@pytest.fixture
def proxied(gateway: Gateway) -> Iterator[str]:
    """The gateway's API base URL through nginx."""
    with local_nginx(gateway.root.removeprefix("http://")) as url:
        yield f"{url}/api/openai/v1"


def test_a_stream_through_nginx_arrives_chunk_by_chunk(
    proxied: str, gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    fake_openai.reply("".join(CHUNKS), chunks=CHUNKS, chunk_delay=CHUNK_DELAY)
    client = openai.OpenAI(base_url=proxied, api_key=gateway.key, max_retries=0)
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "count"}], stream=True
    )
    arrivals = [
        (time.monotonic(), chunk.choices[0].delta.content)
        for chunk in stream
        if chunk.choices and chunk.choices[0].delta.content
    ]
    assert "".join(text for _, text in arrivals) == "".join(CHUNKS)
    gaps = [later - earlier for (earlier, _), (later, _) in pairwise(arrivals)]
    # Buffered, they would all arrive at once when the stream ends.
    assert len(gaps) == len(CHUNKS) - 1
    assert all(gap > CHUNK_DELAY / 2 for gap in gaps), gaps


def test_the_probes_and_request_ids_pass_through_nginx(proxied: str) -> None:
    root = proxied.removesuffix("/api/openai/v1")
    for path in ("/healthz", "/readyz"):
        response = httpx.get(f"{root}{path}", timeout=10)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        assert response.headers["x-request-id"].startswith("req_")
    unauthenticated = httpx.get(f"{proxied}/models", timeout=10)
    assert unauthenticated.json()["error"]["code"] == "invalid_api_key"
    assert unauthenticated.headers["x-request-id"].startswith("req_")
