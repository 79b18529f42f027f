"""Image generation requests, as every image provider reads them: pure rules, no I/O.

OpenAI's `POST /images/generations` body becomes an `ImageRequest` with its defaults applied;
`size` is parsed once here, and providers that speak in aspect ratios (Imagen, Replicate) map
it with `aspect_ratio`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidRequest

# The AI SDK's compatible image model needs `b64_json` and sends no `response_format`, so
# that is the default, unlike OpenAI's `url`.
DEFAULT_RESPONSE_FORMAT = "b64_json"
SIZE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
# The aspect ratios Imagen accepts; Replicate's models take them too.
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
# Fields only the GPT image models take; passed on to them as they came.
GPT_IMAGE_OPTIONS = ("background", "output_format", "output_compression", "moderation")


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str
    n: int = 1
    size: str | None = None  # None or "auto": the model's default
    quality: str | None = None
    style: str | None = None
    response_format: str = DEFAULT_RESPONSE_FORMAT
    user: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # GPT_IMAGE_OPTIONS that were set

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) of `size`, or None when the model chooses."""
        return parse_size(self.size)


def parse_size(size: str | None) -> tuple[int, int] | None:
    if size is None or size == "auto":
        return None
    match = SIZE.match(size)
    if not match:
        raise InvalidRequest(
            f"Invalid size {size!r}: use `auto` or `WIDTHxHEIGHT`, such as `1024x1024`.",
            param="size",
            code="invalid_size",
        )
    return int(match.group(1)), int(match.group(2))


def image_request(body: Mapping[str, Any]) -> ImageRequest:
    """The request with OpenAI's defaults; a null field means "not set"."""
    request = ImageRequest(
        prompt=str(body["prompt"]),
        n=int(body.get("n") or 1),
        size=body.get("size"),
        quality=body.get("quality"),
        style=body.get("style"),
        response_format=body.get("response_format") or DEFAULT_RESPONSE_FORMAT,
        user=body.get("user"),
        options={k: body[k] for k in GPT_IMAGE_OPTIONS if body.get(k) is not None},
    )
    request.dimensions  # noqa: B018 - refuse a malformed size before any upstream call
    return request


def aspect_ratio(dimensions: tuple[int, int] | None) -> str:
    """The accepted aspect ratio nearest to `dimensions` (1:1 when the model chooses)."""
    if dimensions is None:
        return "1:1"
    width, height = dimensions
    wanted = width / height

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(int(w) / int(h) - wanted)

    return min(ASPECT_RATIOS, key=distance)
