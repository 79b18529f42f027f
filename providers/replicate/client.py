"""Replicate's predictions API: image models such as
`black-forest-labs/flux-schnell`, `flux-dev`, `stability-ai/stable-diffusion-3` and
`recraft-ai/recraft-v3`.

A request creates a prediction (`POST /v1/models/{owner}/{name}/predictions`, holding the
connection open with `Prefer: wait`), polls it (`GET /v1/predictions/{id}`) until its status is
terminal, then downloads its output files: `replicate.delivery` links are deleted within the
hour, so they are never handed out. A prediction still running at the row's deadline, or whose
client left, is canceled.

What each model takes and what its prediction answers is translated by
providers/replicate/request.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from domain.catalog import ModelEntry
from domain.errors import UpstreamError, UpstreamTimeout
from domain.fetch_rules import PUBLIC_ONLY, FetchAllow
from domain.images import ImageRequest
from providers import rows
from providers.base import GeneratedImage, ImageResult
from providers.http import image_http, outbound
from providers.http.client import HttpClient, HttpError
from providers.replicate.request import JSON, failure, inputs, output_urls, read_error
from providers.rows import Row

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
MAX_WAIT_SECONDS = 60  # the most `Prefer: wait` may ask for
DEFAULT_DEADLINE_SECONDS = 300.0


@dataclass(frozen=True)
class Replicate:
    name: str
    base_url: str
    api_token: str | None
    client: HttpClient
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    poll_interval: float = 0.5  # the official SDK's interval
    fetch_allow: FetchAllow = PUBLIC_ONLY  # where its output links may point

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = {"Accept": "application/json", **extra}
        if self.api_token:
            headers["Authorization"] = f"Bearer {self.api_token}"
        return headers

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        batches = [partial(self._predict, model, body) for body in inputs(request, model)]
        found = await image_http.gather(batches)
        return ImageResult([image for images in found for image in images][: request.n])

    async def _predict(self, model: ModelEntry, body: JSON) -> list[GeneratedImage]:
        deadline = time.monotonic() + self.deadline_seconds
        wait = max(1, min(MAX_WAIT_SECONDS, int(self.deadline_seconds)))
        url = f"{self.base_url}/v1/models/{model.upstream_id}/predictions"
        _, prediction = await image_http.request_json(
            self.client,
            "POST",
            url,
            self._headers(Prefer=f"wait={wait}"),
            {"input": body},
            read_error,
        )
        prediction = await self._until_done(prediction, deadline)
        if prediction.get("status") != "succeeded":
            raise failure(prediction)
        urls = output_urls(prediction)
        if not urls:
            raise UpstreamError("The upstream prediction succeeded without any image.")
        return [await image_http.fetch_image(link, self.fetch_allow) for link in urls]

    async def _until_done(self, created: Any, deadline: float) -> JSON:
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise UpstreamError("The upstream provider sent a malformed prediction.")
        prediction: JSON = created
        try:
            while prediction.get("status") not in TERMINAL:
                if time.monotonic() >= deadline:
                    raise UpstreamTimeout("The upstream prediction did not finish in time.")
                await anyio.sleep(self.poll_interval)
                prediction = await self._get(prediction["id"])
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._cancel(prediction["id"])
            raise
        return prediction

    async def _get(self, prediction_id: str) -> JSON:
        url = f"{self.base_url}/v1/predictions/{prediction_id}"
        _, prediction = await image_http.request_json(
            self.client, "GET", url, self._headers(), read_error=read_error
        )
        if not isinstance(prediction, dict) or prediction.get("id") != prediction_id:
            raise UpstreamError("The upstream provider sent a malformed prediction.")
        return prediction

    async def _cancel(self, prediction_id: str) -> None:
        """Stop paying for a prediction nobody will read; best effort."""
        url = f"{self.base_url}/v1/predictions/{prediction_id}/cancel"
        try:
            with anyio.fail_after(5):
                await self.client.post(url, headers=self._headers())
        except (HttpError, TimeoutError):
            pass


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> Replicate:
    return Replicate(
        name=row["name"],
        base_url=rows.base_url(row, env) or "",
        api_token=rows.api_key(row, env),
        client=client,
        deadline_seconds=float(row.get("prediction_deadline_seconds", DEFAULT_DEADLINE_SECONDS)),
        poll_interval=float(row.get("poll_interval_seconds", 0.5)),
        fetch_allow=outbound.allow_from(env),
    )
