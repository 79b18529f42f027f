"""Image generation through OpenRouter's chat completions: the
prompt as one user message with `modalities: ["image", "text"]`; the images come back as
`data:` URLs in `message.images`.

A chat completion makes one image (sometimes more), so `n` images are `n` concurrent
completions, and at most `n` images are kept. Their token usage adds up.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import partial
from typing import Any

import anyio.to_thread

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from domain.fetch_rules import PUBLIC_ONLY, FetchAllow
from domain.images import ImageRequest, aspect_ratio
from providers.base import GeneratedImage, ImageResult
from providers.http import image_http
from providers.http.client import HttpClient

JSON = dict[str, Any]


def to_upstream(request: ImageRequest, model: ModelEntry) -> JSON:
    body: JSON = {
        "model": model.upstream_id,
        "messages": [{"role": "user", "content": request.prompt}],
        "modalities": ["image", "text"],
        "stream": False,
    }
    if request.dimensions is not None:
        body["image_config"] = {"aspect_ratio": aspect_ratio(request.dimensions)}
    if request.user is not None:
        body["user"] = request.user
    return body


def _data_url(url: str) -> GeneratedImage | None:
    """`data:image/png;base64,...` as an image; None for anything else."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
        return None
    try:
        return GeneratedImage(base64.b64decode(data, validate=True), head[5:-7])
    except binascii.Error:
        return None


def images_of(completion: Any) -> tuple[list[GeneratedImage], list[str]]:
    """The inline images of a completion, and the http(s) URLs of the others."""
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        raise UpstreamError("The upstream provider sent a malformed response.")
    inline, remote = [], []
    for choice in completion["choices"]:
        message = choice.get("message") if isinstance(choice, dict) else None
        for image in (message or {}).get("images") or []:
            url = str(((image or {}).get("image_url") or {}).get("url") or "")
            decoded = _data_url(url)
            if decoded is not None:
                inline.append(decoded)
            elif url.startswith(("https://", "http://")):
                remote.append(url)
    return inline, remote


def tokens_of(completion: Mapping[str, Any]) -> tuple[int, int]:
    usage = completion.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


async def _one(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    body: JSON,
    allow: FetchAllow,
) -> tuple[list[GeneratedImage], tuple[int, int]]:
    _, completion = await image_http.request_json(client, "POST", url, headers, body)
    inline, remote = await anyio.to_thread.run_sync(images_of, completion)
    fetched = [await image_http.fetch_image(link, allow) for link in remote]
    return inline + fetched, tokens_of(completion)


async def generate(
    client: HttpClient,
    base_url: str,
    headers: Mapping[str, str],
    request: ImageRequest,
    model: ModelEntry,
    allow: FetchAllow = PUBLIC_ONLY,
) -> ImageResult:
    """`allow`: where the answer's image links may point besides public addresses."""
    url = f"{base_url}/chat/completions"
    body = to_upstream(request, model)
    results = await image_http.gather(
        [partial(_one, client, url, headers, body, allow) for _ in range(request.n)]
    )
    images = [image for found, _ in results for image in found][: request.n]
    return ImageResult(
        images,
        prompt_tokens=sum(tokens[0] for _, tokens in results),
        completion_tokens=sum(tokens[1] for _, tokens in results),
    )
