"""Image generation end to end: route the model, reserve `n` images against the plan's daily
image limit and one message against the daily message limit, let the provider generate, then
answer with base64 images or links to copies the gateway stores itself, and meter what was
produced (images not produced are refunded).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.types import Receive

from domain.catalog import ModelEntry
from domain.errors import GatewayError, QuotaExceeded, UpstreamError
from domain.images import ImageRequest, image_request
from domain.metering import Usage
from domain.quota import DailyAllowance, quota_day
from domain.tokens import estimate_tokens
from gateway.auth import Caller
from gateway.chat import metering_headers
from gateway.image_store import ImageStore
from gateway.metering import Admission, Outcome
from gateway.routing import route
from gateway.services import Services
from providers.base import GeneratedImage, ImageProvider, ImageResult
from storage import image_usage

T = TypeVar("T")
ENDPOINT = "images.generations"
FILES_PATH = "/images/files/"
# Values of ImagesResponse's optional fields that OpenAI's schema allows (others are left out).
ALLOWED_DETAILS = {
    "background": {"transparent", "opaque"},
    "output_format": {"png", "webp", "jpeg"},
    "size": {"1024x1024", "1024x1536", "1536x1024"},
    "quality": {"low", "medium", "high"},
}


@dataclass(frozen=True, slots=True)
class ImageReservation:
    day: date
    reserved: int
    allowance: DailyAllowance | None  # None: the request draws on no image limit (BYOK)


class ImageQuota:
    """Reserve images before the upstream call, settle with the number produced."""

    def __init__(self, services: Services) -> None:
        self.writer = services.meter.writer

    async def reserve(self, caller: Caller, n: int, *, charged: bool) -> ImageReservation:
        day = quota_day()
        if not charged:
            return ImageReservation(day, 0, None)
        reserve = partial(
            image_usage.reserve,
            workspace_id=caller.workspace_id,
            plan=caller.plan,
            day=day,
            n=n,
        )
        allowance = await self.writer.run(reserve)
        if allowance is None:
            raise QuotaExceeded(
                f"Your workspace cannot generate {n} more image(s) today. The daily image "
                "limit resets at midnight UTC; upgrade the plan for more.",
                headers={"x-should-retry": "false"},
            )
        return ImageReservation(day, n, allowance)

    async def settle(
        self, caller: Caller, reservation: ImageReservation, produced: int
    ) -> DailyAllowance | None:
        if reservation.allowance is None:
            return None
        settle = partial(
            image_usage.settle,
            workspace_id=caller.workspace_id,
            day=reservation.day,
            limit=reservation.allowance.limit,
            reserved=reservation.reserved,
            produced=min(produced, reservation.reserved),
        )
        return await self.writer.run(settle)


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
    services: Services
    caller: Caller
    request: ImageRequest
    model: ModelEntry
    provider: ImageProvider
    images: ImageReservation
    admission: Admission

    async def generate(self, base_url: str) -> tuple[dict[str, Any], dict[str, str]]:
        status, http_status, result = "client_disconnected", 499, None
        try:
            result = await self.provider.generate_images(self.request, self.model)
            if not result.images:
                raise UpstreamError("The upstream provider answered without any image.")
            data = await self._items(result.images, base_url)
            status, http_status = "completed", 200
        except GatewayError as exc:
            status, http_status = "upstream_error", exc.status
            raise
        except Exception:  # our own failure (a full disk...): nothing was delivered, so free
            status, http_status = "upstream_error", 500
            raise
        finally:
            produced = len(result.images) if result is not None and status == "completed" else 0
            counted, remaining = await self._settle(result, status, http_status, produced)
        headers = metering_headers(counted, remaining.messages) | image_headers(
            produced, remaining.images
        )
        body = {"created": int(time.time()), "data": data, **response_details(result)}
        return body, headers

    async def _items(self, images: list[GeneratedImage], base_url: str) -> list[dict[str, Any]]:
        if self.request.response_format == "url":
            return await url_items(self.services.image_store, images, base_url)
        return await anyio.to_thread.run_sync(b64_items, images)

    async def _settle(
        self, result: ImageResult | None, status: str, http_status: int, produced: int
    ) -> tuple[int, Remaining]:
        """Meter the request once, shielded so a client's disconnect cannot skip it."""
        with anyio.CancelScope(shield=True):
            images = await ImageQuota(self.services).settle(self.caller, self.images, produced)
            usage = await anyio.to_thread.run_sync(usage_of, self.request, result)
            outcome = Outcome(usage, status, http_status)
            route = (ENDPOINT, self.model.slug, self.model.provider)
            messages = await self.services.meter.settle(self.caller, self.admission, route, outcome)
        return outcome.messages, Remaining(_left(messages), _left(images))


@dataclass(frozen=True, slots=True)
class Remaining:
    messages: int | None
    images: int | None


def _left(allowance: DailyAllowance | None) -> int | None:
    return allowance.remaining if allowance is not None else None


def image_headers(counted: int, remaining: int | None) -> dict[str, str]:
    headers = {"x-writingmate-images-counted": str(counted)}
    if remaining is not None:
        headers["x-writingmate-images-remaining"] = str(remaining)
    return headers


async def begin_images(services: Services, caller: Caller, body: Mapping[str, Any]) -> ImageRun:
    """Route the model (404/403), then reserve its images (429) and a message (429). With the
    user's own key for the provider (BYOK), the request draws on no limit."""
    request = image_request(body)
    routed = route(services, caller, body["model"], "images", ImageProvider)
    quota = ImageQuota(services)
    images = await quota.reserve(caller, request.n, charged=not routed.own_key)
    try:
        admission = await services.meter.admit(caller, charged=not routed.own_key)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await quota.settle(caller, images, produced=0)
        raise
    return ImageRun(services, caller, request, routed.model, routed.provider, images, admission)


class ClientGone(GatewayError):
    """The client closed the connection before the images were ready (nginx's 499)."""

    status = 499
    type = "invalid_request_error"
    code = "client_disconnected"


async def until_disconnect(work: Callable[[], Awaitable[T]], receive: Receive) -> T:
    """`work()`, cancelled if the client disconnects first: generating images takes seconds
    to minutes, and nobody should pay for (or keep polling) images nobody will read."""
    done: list[T] = []

    async def watch(scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(watch, group.cancel_scope)
            done.append(await work())
            group.cancel_scope.cancel()
    except BaseExceptionGroup as failures:
        if len(failures.exceptions) == 1:  # the work's own failure, as itself
            raise failures.exceptions[0] from None
        raise
    if not done:
        raise ClientGone("The client closed the request.")
    return done[0]


def links_base(public_url: str | None, request_url: str, request_path: str) -> str:
    """Where the gateway's image links start: `WMGW_PUBLIC_URL` (else the request's origin),
    then the API's base path as this request reached it."""
    api_path = request_path.removesuffix("/images/generations")
    origin = public_url or request_url[: len(request_url) - len(request_path)]
    return f"{origin.rstrip('/')}{api_path}"
