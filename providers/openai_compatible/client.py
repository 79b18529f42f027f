"""OpenAI and every OpenAI-compatible upstream (OpenRouter, Ollama, vLLM, llama.cpp server):
a row of data naming a base URL and the variable that holds the key.

Translation is nearly the identity: the upstream model id replaces our slug, and usage is
always requested (`stream_options.include_usage`) so that every stream can be metered.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import ModelNotSupported, UpstreamError
from domain.fetch_rules import PUBLIC_ONLY, FetchAllow
from domain.images import ImageRequest
from domain.videos import UpstreamVideo, VideoContent, VideoSpec
from providers import rows
from providers.base import Chunk, ImageResult
from providers.http import outbound, upstream
from providers.http.client import HttpClient
from providers.openai_compatible import completions as openai_completions
from providers.openai_compatible import embeddings as openai_embeddings
from providers.openai_compatible import images as openai_images
from providers.openai_compatible import model_lists, openrouter_images, streams
from providers.openai_compatible import transcriptions as openai_transcriptions
from providers.openai_compatible import videos as openai_videos
from providers.openai_compatible.request import to_upstream
from providers.rows import Row
from providers.transcripts import TranscriptionRequest, TranscriptionResult

# How a row's upstream generates images (its `images` field in catalog.yaml).
IMAGE_APIS = {
    "generations": openai_images.generate,  # POST /images/generations (OpenAI)
    "chat": openrouter_images.generate,  # chat completions with `modalities` (OpenRouter)
}


@dataclass(frozen=True)
class OpenAICompatible:
    name: str
    base_url: str
    api_key: str | None
    client: HttpClient
    extra_headers: Mapping[str, str]
    image_api: str | None = None  # the row's `images`: a key of IMAGE_APIS
    # The field that caps an answer's length, when the gateway sets one itself (the row's
    # `max_tokens_field`): OpenAI's reasoning models refuse `max_tokens`, and some servers
    # know only `max_tokens`.
    max_tokens_field: str = "max_tokens"
    fetch_allow: FetchAllow = PUBLIC_ONLY  # where the image links it answers with may point

    def with_api_key(self, api_key: str) -> OpenAICompatible:
        return dataclasses.replace(self, api_key=api_key)

    @functools.cached_property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @functools.cached_property
    def embeddings_url(self) -> str:
        return f"{self.base_url}/embeddings"

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, **self.extra_headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        request = to_upstream(body, model, stream=True)
        return streams.chunks(
            self.client, self.chat_url, request, self._headers("text/event-stream")
        )

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        url = self.chat_url
        request = to_upstream(body, model, stream=False)
        answer = await upstream.post_json(
            self.client, url, request, self._headers("application/json")
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
            raise UpstreamError("The upstream provider sent a malformed response.")
        return answer

    @functools.cached_property
    def completions_url(self) -> str:
        return f"{self.base_url}/completions"

    def stream_text_completion(
        self, body: Mapping[str, Any], model: ModelEntry
    ) -> AsyncIterator[Chunk]:
        headers = self._headers("text/event-stream")
        return openai_completions.stream(self.client, self.completions_url, headers, body, model)

    async def complete_text(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        headers = self._headers("application/json")
        url = self.completions_url
        return await openai_completions.complete(self.client, url, headers, body, model)

    async def list_models(self) -> dict[str, Any]:
        headers = self._headers("application/json")
        return await model_lists.fetch(self.client, self.base_url, headers)

    async def create_embeddings(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        headers = self._headers("application/json")
        return await openai_embeddings.create(
            self.client, self.embeddings_url, headers, body, model
        )

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        generate = IMAGE_APIS.get(self.image_api or "")
        if generate is None:
            raise ModelNotSupported(model.slug, "image generation")
        headers = self._headers("application/json")
        return await generate(
            self.client, self.base_url, headers, request, model, allow=self.fetch_allow
        )

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        endpoint = openai_transcriptions.url(self.base_url)
        headers = self._headers(openai_transcriptions.ACCEPT)
        return await openai_transcriptions.transcribe(
            self.client, endpoint, headers, request, model
        )

    async def create_video(self, spec: VideoSpec, model: ModelEntry) -> UpstreamVideo:
        headers = self._headers("application/json")
        return await openai_videos.create(self.client, self.base_url, headers, spec, model)

    async def retrieve_video(self, upstream_id: str) -> UpstreamVideo:
        headers = self._headers("application/json")
        return await openai_videos.retrieve(self.client, self.base_url, headers, upstream_id)

    async def video_content(self, upstream_id: str, variant: str) -> VideoContent:
        headers = self._headers("application/binary")
        return await openai_videos.content(
            self.client, self.base_url, headers, upstream_id, variant
        )


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> OpenAICompatible:
    return OpenAICompatible(
        name=row["name"],
        base_url=rows.base_url(row, env) or "",
        api_key=rows.api_key(row, env),
        client=client,
        extra_headers=dict(row.get("headers") or {}),
        image_api=row.get("images"),
        max_tokens_field=str(row.get("max_tokens_field") or "max_tokens"),
        fetch_allow=outbound.allow_from(env),
    )
