"""Anthropic's Messages API (`POST /v1/messages`): the calls, and nothing else. The request is
translated by providers/anthropic/request.py, the answers by providers/anthropic/answers.py."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import UpstreamError
from providers import rows
from providers.anthropic.answers import StreamTranslator, read_error, to_completion
from providers.anthropic.request import API_VERSION, json_tool_name, to_upstream
from providers.base import Chunk
from providers.http import upstream
from providers.http.client import HttpClient
from providers.rows import Row


@dataclass(frozen=True)
class Anthropic:
    name: str
    base_url: str
    api_key: str | None
    client: HttpClient
    extra_headers: Mapping[str, str]

    @functools.cached_property
    def messages_url(self) -> str:
        return f"{self.base_url}/v1/messages"

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {
            "Accept": accept,
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
            **self.extra_headers,
        }
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    async def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        request = to_upstream(body, model.upstream_id, stream=True)
        headers = self._headers("text/event-stream")
        translator = StreamTranslator(
            json_tool=json_tool_name(body), secrets=upstream.credentials(headers)
        )
        events = upstream.stream_events(
            self.client, self.messages_url, request, headers, read_error
        )
        async for event in events:
            for chunk in translator.feed(event.event, upstream.event_object(event)):
                yield chunk
        for chunk in translator.finish():
            yield chunk

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        request = to_upstream(body, model.upstream_id, stream=False)
        answer = await upstream.post_json(
            self.client, self.messages_url, request, self._headers("application/json"), read_error
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("content"), list):
            raise UpstreamError("The upstream provider sent a malformed response.")
        return to_completion(answer, json_tool_name(body))


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> Anthropic:
    return Anthropic(
        name=row["name"],
        base_url=rows.base_url(row, env) or "",
        api_key=rows.api_key(row, env),
        client=client,
        extra_headers=dict(row.get("headers") or {}),
    )
