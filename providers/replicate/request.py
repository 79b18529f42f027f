"""Replicate's image models as OpenAI's images API: which inputs each model family takes
(FAMILIES; `n` beyond what one prediction makes is several predictions), and what a finished
prediction's output and failure mean. Pure functions on plain data; the calls are made by
providers/replicate/client.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.images import ImageRequest, aspect_ratio

JSON = dict[str, Any]


def _common(request: ImageRequest) -> JSON:
    return {"prompt": request.prompt, "aspect_ratio": aspect_ratio(request.dimensions)}


def flux_input(request: ImageRequest, count: int) -> JSON:
    return {**_common(request), "num_outputs": count, "output_format": "png"}


def single_png_input(request: ImageRequest, count: int) -> JSON:
    return {**_common(request), "output_format": "png"}


def single_input(request: ImageRequest, count: int) -> JSON:
    return _common(request)


@dataclass(frozen=True, slots=True)
class Family:
    max_outputs: int  # images one prediction makes at most
    input: Callable[[ImageRequest, int], JSON]


FLUX = Family(4, flux_input)
FAMILIES: Mapping[str, Family] = {
    "black-forest-labs/flux-schnell": FLUX,
    "black-forest-labs/flux-dev": FLUX,
    "stability-ai/stable-diffusion-3": Family(1, single_png_input),
    "recraft-ai/recraft-v3": Family(1, single_input),
}
DEFAULT_FAMILY = Family(1, single_input)


def family_of(model: ModelEntry) -> Family:
    return FAMILIES.get(model.upstream_id, DEFAULT_FAMILY)


def inputs(request: ImageRequest, model: ModelEntry) -> list[JSON]:
    """The `input` of each prediction needed for `request.n` images."""
    family = family_of(model)
    counts = []
    left = request.n
    while left > 0:
        counts.append(min(left, family.max_outputs))
        left -= counts[-1]
    return [family.input(request, count) for count in counts]


def output_urls(prediction: Mapping[str, Any]) -> list[str]:
    """A succeeded prediction's files: `output` is one URL or a list of them (section 7.3)."""
    output = prediction.get("output")
    found = [output] if isinstance(output, str) else output if isinstance(output, list) else []
    return [url for url in found if isinstance(url, str) and url.startswith(("https:", "http:"))]


def failure(prediction: Mapping[str, Any]) -> UpstreamError | InvalidRequest:
    """What a client sees for a prediction that ended without succeeding."""
    status = prediction.get("status")
    error = str(prediction.get("error") or "")
    if status == "failed" and "nsfw" in error.lower():
        return InvalidRequest(
            f"Your request was rejected by the provider's safety system: {error}",
            param="prompt",
            code="content_policy_violation",
        )
    if status == "failed":
        return UpstreamError(f"The upstream prediction failed: {error or 'no reason given'}")
    return UpstreamError(f"The upstream prediction was {status} before it finished.")


def read_error(body: Any) -> tuple[str | None, str | None, str | None]:
    """Replicate's errors are RFC 7807 problem details (`detail`, `title`), section 7.4."""
    if not isinstance(body, dict):
        return None, None, None
    message = body.get("detail") or body.get("title")
    return (str(message) if message else None), None, None
