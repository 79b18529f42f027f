"""Google Gemini API (`generateContent`, `streamGenerateContent?alt=sse`, embeddings, Imagen,
transcription): the calls, and nothing else. Requests are translated by
providers/gemini/request.py, answers by providers/gemini/answers.py."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.images import ImageRequest
from providers import rows
from providers.base import Chunk, ImageResult
from providers.gemini import embeddings as gemini_embeddings
from providers.gemini import imagen
from providers.gemini import transcriptions as gemini_transcriptions
from providers.gemini.answers import (
    StreamState,
    final_chunks,
    is_blocked,
    to_chunks,
    to_completion,
)
from providers.gemini.errors import error_of, read_error
from providers.gemini.errors import ours as _ours
from providers.gemini.request import API_VERSION, to_upstream
from providers.http import upstream
from providers.http.client import HttpClient
from providers.rows import Row
from providers.transcripts import TranscriptionRequest, TranscriptionResult


@dataclass(frozen=True)
class Gemini:
    name: str
    base_url: str
    api_key: str | None
    client: HttpClient

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a few models, frozen instance
    def _url(self, upstream_id: str, method: str) -> str:
        url = f"{self.base_url}/{API_VERSION}/models/{upstream_id}:{method}"
        return url + "?alt=sse" if method == "streamGenerateContent" else url

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self.api_key:
            headers["x-goog-api-key"] = self.api_key
        return headers

    async def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        request = to_upstream(body, model)
        url = self._url(model.upstream_id, "streamGenerateContent")
        headers = self._headers("text/event-stream")
        state = StreamState()
        try:
            async for event in upstream.stream_events(
                self.client, url, request, headers, read_error
            ):
                payload = upstream.event_object(event)
                failure = error_of(payload, headers)
                if failure is not None:
                    raise failure
                for chunk in to_chunks(payload, state):
                    yield chunk
        except InvalidRequest as exc:
            raise _ours(exc) from exc
        for chunk in final_chunks(state):
            yield chunk

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        request = to_upstream(body, model)
        url = self._url(model.upstream_id, "generateContent")
        try:
            answer = await upstream.post_json(
                self.client, url, request, self._headers("application/json"), read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc
        if not isinstance(answer, Mapping) or not (
            isinstance(answer.get("candidates"), list) or is_blocked(answer)
        ):
            raise UpstreamError("The upstream provider sent a malformed response.")
        return to_completion(answer)

    async def create_embeddings(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        url = self._url(model.upstream_id, "batchEmbedContents")
        headers = self._headers("application/json")
        try:
            return await gemini_embeddings.create(
                self.client, url, headers, body, model, read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        url = self._url(model.upstream_id, "predict")
        try:
            return await imagen.generate(
                self.client, url, self._headers("application/json"), request, read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        endpoint = gemini_transcriptions.Endpoint(
            client=self.client,
            base_url=self.base_url,
            generate_url=self._url(model.upstream_id, "generateContent"),
            headers=self._headers("application/json"),
            read_error=read_error,
        )
        try:
            return await gemini_transcriptions.transcribe(endpoint, request)
        except InvalidRequest as exc:
            raise _ours(exc) from exc


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> Gemini:
    return Gemini(
        name=row["name"],
        base_url=rows.base_url(row, env) or "",
        api_key=rows.api_key(row, env),
        client=client,
    )
