"""An OpenAI request passed through to an OpenAI-compatible upstream (chat completions and legacy
completions alike): our slug becomes the upstream's model id, and a stream always asks for
usage, so that every stream can be metered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.catalog import ModelEntry


def to_upstream(body: Mapping[str, Any], model: ModelEntry, *, stream: bool) -> dict[str, Any]:
    request = dict(body)
    request["model"] = model.upstream_id
    request["stream"] = stream
    if stream:
        request["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    else:  # OpenAI refuses stream_options on a non-streaming request
        request.pop("stream_options", None)
    return request
