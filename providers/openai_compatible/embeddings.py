"""Embeddings on OpenAI and every OpenAI-compatible upstream (`POST {base_url}/embeddings`).

The request passes through as the client sent it (token-id inputs, `encoding_format`,
`dimensions`, `user`), with the upstream's model id for our slug and unset (`null`) options
left out. The answer is the upstream's; the gateway re-encodes vectors when a local server
sends floats for a `base64` request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from providers.http import upstream
from providers.http.client import HttpClient


def to_upstream(body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
    request = {key: value for key, value in body.items() if value is not None}
    request["model"] = model.upstream_id
    return request


async def create(
    client: HttpClient,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    model: ModelEntry,
) -> dict[str, Any]:
    answer = await upstream.post_json(client, url, to_upstream(body, model), headers)
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise UpstreamError("The upstream provider sent a malformed embeddings response.")
    return answer
