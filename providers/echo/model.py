"""`writingmate/echo`, the built-in offline model: every endpoint, each answered by its own
module of this package (chat.py, completions.py, embeddings.py, images.py,
transcriptions.py, videos.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.images import ImageRequest
from domain.videos import UpstreamVideo, VideoContent, VideoSpec
from providers.base import Chunk, ImageResult
from providers.chunks import collect
from providers.echo import chat, completions, embeddings, images, transcriptions, videos
from providers.http.client import HttpClient
from providers.rows import Row
from providers.transcripts import TranscriptionRequest, TranscriptionResult


@dataclass(frozen=True)
class Echo:
    name: str

    def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        return chat.stream(body)

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        return await collect(self.stream_chat(body, model))

    def stream_text_completion(
        self, body: Mapping[str, Any], model: ModelEntry
    ) -> AsyncIterator[Chunk]:
        return completions.stream(body)

    async def complete_text(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        return await completions.complete(body)

    async def create_embeddings(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        return await embeddings.create(body)

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        return await images.generate_images(request, model)

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        return await transcriptions.transcribe(request)

    async def create_video(self, spec: VideoSpec, model: ModelEntry) -> UpstreamVideo:
        return videos.create(spec)

    async def retrieve_video(self, upstream_id: str) -> UpstreamVideo:
        return videos.retrieve(upstream_id)

    async def video_content(self, upstream_id: str, variant: str) -> VideoContent:
        return await videos.content(upstream_id, variant)


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> Echo:
    return Echo(name=row["name"])
