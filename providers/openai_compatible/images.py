"""OpenAI's `POST /v1/images/generations`: dall-e-3 and the GPT image
models (`gpt-image-1`, `gpt-image-1.5`, ...).

The gateway always asks for `b64_json` (dall-e's `url` links vanish after an hour; GPT image
models only return base64), keeps the upstream's `usage`, and sends each model family only the
parameters it takes: `style` and `response_format` to dall-e, `background`, `output_format`,
`output_compression` and `moderation` to the GPT image models.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from domain.fetch_rules import PUBLIC_ONLY, FetchAllow
from domain.images import ImageRequest
from providers.base import GeneratedImage, ImageResult
from providers.http import image_http
from providers.http.client import HttpClient

JSON = dict[str, Any]
DETAIL_FIELDS = ("background", "output_format", "quality", "size")


def is_dalle(model: ModelEntry) -> bool:
    return model.upstream_id.startswith("dall-e")


def to_upstream(request: ImageRequest, model: ModelEntry) -> JSON:
    body: JSON = {"model": model.upstream_id, "prompt": request.prompt, "n": request.n}
    for key in ("size", "quality", "user"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if is_dalle(model):
        body["response_format"] = "b64_json"
        if request.style is not None:
            body["style"] = request.style
    else:
        body.update(request.options)
    return body


def _image(item: Mapping[str, Any], media_type: str) -> GeneratedImage:
    try:
        data = base64.b64decode(item["b64_json"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise UpstreamError("The upstream provider sent an image without its data.") from exc
    revised = item.get("revised_prompt")
    return GeneratedImage(data, media_type, revised if isinstance(revised, str) else None)


def from_upstream(payload: Any) -> ImageResult:
    """An `ImagesResponse` as our result; the images decoded from base64."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise UpstreamError("The upstream provider sent a malformed response.")
    output_format = payload.get("output_format") or "png"
    media_type = f"image/{output_format}"
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else None
    return ImageResult(
        images=[_image(item, media_type) for item in payload["data"] if isinstance(item, dict)],
        usage=usage,
        details={k: payload[k] for k in DETAIL_FIELDS if isinstance(payload.get(k), str)},
        prompt_tokens=int((usage or {}).get("input_tokens") or 0),
        completion_tokens=int((usage or {}).get("output_tokens") or 0),
    )


async def generate(
    client: HttpClient,
    base_url: str,
    headers: Mapping[str, str],
    request: ImageRequest,
    model: ModelEntry,
    allow: FetchAllow = PUBLIC_ONLY,
) -> ImageResult:
    """`allow` is unused: the answer's images are inline (`b64_json`), no link is fetched."""
    url = f"{base_url}/images/generations"
    _, payload = await image_http.request_json(
        client, "POST", url, headers, to_upstream(request, model)
    )
    return await anyio.to_thread.run_sync(from_upstream, payload)  # base64 decoding
