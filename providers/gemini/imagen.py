"""Imagen through the Gemini API: `POST /v1beta/models/{model}:predict`,
served by the `google` provider (providers/gemini/request.py owns its URLs, key and errors).

`n` is `sampleCount` (1 to 4), `size` the nearest accepted `aspectRatio` (and `sampleImageSize`
`2K` when a side over 1024 pixels is asked for). Images the upstream filtered come back as
predictions with only `raiFilteredReason`: they are left out, and a request whose every image
was filtered is refused like OpenAI refuses one (400 `content_policy_violation`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from domain.errors import InvalidRequest, UpstreamError
from domain.images import ImageRequest, aspect_ratio
from providers.base import GeneratedImage, ImageResult
from providers.http import image_http, upstream
from providers.http.client import HttpClient

JSON = dict[str, Any]
MAX_SAMPLES = 4


def to_upstream(request: ImageRequest) -> JSON:
    if request.n > MAX_SAMPLES:
        raise InvalidRequest(
            f"Imagen makes at most {MAX_SAMPLES} images per request.",
            param="n",
            code="invalid_value",
        )
    parameters: JSON = {
        "sampleCount": request.n,
        "aspectRatio": aspect_ratio(request.dimensions),
        "outputOptions": {"mimeType": "image/png"},
        "includeRaiReason": True,
    }
    if request.dimensions is not None and max(request.dimensions) > 1024:
        parameters["sampleImageSize"] = "2K"
    return {"instances": [{"prompt": request.prompt}], "parameters": parameters}


def _image(prediction: Mapping[str, Any]) -> GeneratedImage | None:
    encoded = prediction.get("bytesBase64Encoded")
    if not isinstance(encoded, str):
        return None  # filtered: only `raiFilteredReason`
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise UpstreamError("The upstream provider sent a malformed image.") from exc
    return GeneratedImage(data, str(prediction.get("mimeType") or "image/png"))


def from_upstream(payload: Any) -> ImageResult:
    if not isinstance(payload, dict):
        raise UpstreamError("The upstream provider sent a malformed response.")
    predictions = [p for p in payload.get("predictions") or [] if isinstance(p, dict)]
    images = [image for image in map(_image, predictions) if image is not None]
    if not images:
        reasons = [str(p["raiFilteredReason"]) for p in predictions if p.get("raiFilteredReason")]
        raise InvalidRequest(
            "Your request was rejected by the provider's safety system."
            + (f" {reasons[0]}" if reasons else ""),
            param="prompt",
            code="content_policy_violation",
        )
    return ImageResult(images, details={"output_format": "png"})


async def generate(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    request: ImageRequest,
    read_error: upstream.ErrorReader,
) -> ImageResult:
    body = to_upstream(request)
    _, payload = await image_http.request_json(client, "POST", url, headers, body, read_error)
    return await anyio.to_thread.run_sync(from_upstream, payload)  # base64 decoding
