"""Image generation end to end: route the model, reserve its `n` images against the plan's
daily image limit and what it can cost in messages, let the provider generate, then answer
with base64 images or links to copies the gateway stores itself; metered for what was
produced (images not produced are given back), by web/answers.py.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import orjson

from domain import estimates
from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from domain.images import ImageRequest, image_request
from domain.metering import Usage
from domain.tokens import estimate_tokens
from gateway.attempts import Failover
from gateway.auth import Caller
from gateway.image_store import ImageStore
from gateway.routing import admit, own_upstream_only, route
from gateway.runs import Answer
from gateway.services import Services
from gateway.tickets import Claim, Ticket
from providers.base import GeneratedImage, ImageProvider, ImageResult
from providers.served import IMAGES

ENDPOINT = "images.generations"
IMAGE_OUTPUT_TOKENS = 8_000  # above the most GPT image models report for one image
FILES_PATH = "/images/files/"
# Values of ImagesResponse's optional fields that OpenAI's schema allows (others are left out).
ALLOWED_DETAILS = {
    "background": {"transparent", "opaque"},
    "output_format": {"png", "webp", "jpeg"},
    "size": {"1024x1024", "1024x1536", "1536x1024"},
    "quality": {"low", "medium", "high"},
}


def response_details(result: ImageResult) -> dict[str, Any]:
    """The upstream's `background`, `output_format`, `size`, `quality` where OpenAI's schema
    allows the value, and its `usage`."""
    details = {
        key: value
        for key, value in result.details.items()
        if key in ALLOWED_DETAILS and value in ALLOWED_DETAILS[key]
    }
    if result.usage:
        details["usage"] = dict(result.usage)
    return details


def b64_items(images: list[GeneratedImage]) -> list[dict[str, Any]]:
    return [_with_revised(img, {"b64_json": base64.b64encode(img.data).decode()}) for img in images]


def _with_revised(image: GeneratedImage, item: dict[str, Any]) -> dict[str, Any]:
    if image.revised_prompt:
        item["revised_prompt"] = image.revised_prompt
    return item


async def url_items(
    store: ImageStore, images: list[GeneratedImage], base_url: str
) -> list[dict[str, Any]]:
    items = []
    for image in images:
        name = await store.put(image.data, image.mime_type)
        items.append(_with_revised(image, {"url": f"{base_url}{FILES_PATH}{name}"}))
    return items


def usage_of(request: ImageRequest, result: ImageResult | None) -> Usage:
    """The upstream's token counts, else the prompt's tokens estimated offline."""
    if result is not None and (result.prompt_tokens or result.completion_tokens):
        return Usage(prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
    return Usage(prompt_tokens=estimate_tokens(request.prompt), completion_tokens=0, estimated=True)


@dataclass
class ImageRun:
    """One admitted image request (never streamed)."""

    services: Services
    ticket: Ticket
    request: ImageRequest
    model: ModelEntry
    provider: ImageProvider
    links_base: str
    failover: Failover[ImageProvider]
    result: ImageResult | None = None
    answered: bool = False
    streamed: bool = False

    async def complete(self) -> Answer:
        self.result = await self.failover.run(
            lambda its: its.provider.generate_images(self.request, its.model)
        )
        if not self.result.images:
            raise UpstreamError("The upstream provider answered without any image.")
        data = await self._items(self.result.images)
        body = {"created": int(time.time()), "data": data, **response_details(self.result)}
        self.answered = True
        return Answer(orjson.dumps(body), images=len(self.result.images))

    async def _items(self, images: list[GeneratedImage]) -> list[dict[str, Any]]:
        if self.request.response_format == "url":
            return await url_items(self.services.image_store, images, self.links_base)
        return await anyio.to_thread.run_sync(b64_items, images)

    async def usage(self) -> Usage:
        return await anyio.to_thread.run_sync(usage_of, self.request, self.result)

    def delivered(self) -> bool:
        return self.answered


def image_claim(request: ImageRequest) -> Claim:
    """What an image request can cost: its `n` images, and its prompt plus the most output
    tokens a token-reporting image model spends on each image."""
    return Claim(
        prompt_tokens=estimates.text_tokens(request.prompt),
        max_output=IMAGE_OUTPUT_TOKENS,
        choices=request.n,
        images=request.n,
    )


async def begin_images(
    services: Services, caller: Caller, body: Mapping[str, Any], links: str
) -> ImageRun:
    """Route the model (404/403), then reserve its images and messages (429). With the user's
    own key for the provider (BYOK), the request draws on no limit."""
    request = image_request(body)
    routed = route(services, caller, body["model"], IMAGES)
    ticket = await admit(services, caller, ENDPOINT, routed, image_claim(request))
    failover = own_upstream_only(services, routed, ticket)
    return ImageRun(services, ticket, request, routed.model, routed.provider, links, failover)


def links_base(public_url: str | None, request_url: str, request_path: str) -> str:
    """Where the gateway's image links start: `WMGW_PUBLIC_URL` (else the request's origin),
    then the API's base path as this request reached it."""
    api_path = request_path.removesuffix("/images/generations")
    origin = public_url or request_url[: len(request_url) - len(request_path)]
    return f"{origin.rstrip('/')}{api_path}"
