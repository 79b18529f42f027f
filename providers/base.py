"""What providers offer the gateway: one runtime-checkable protocol per kind of endpoint, so
the registry can tell whether a provider's wire format serves it (`Registry.serving`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, runtime_checkable

from domain.catalog import ModelEntry
from domain.videos import UpstreamVideo, VideoContent, VideoSpec

Chunk = dict[str, Any]


@runtime_checkable
class ChatProvider(Protocol):
    @property
    def name(self) -> str: ...

    def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        """Yield `chat.completion.chunk`-shaped dicts for an OpenAI chat request body.

        A chunk carrying `usage` reports the request's token usage (the gateway always wants
        it, whatever the client asked). Failures raise `domain.errors.GatewayError`s.
        """
        ...

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        """One `chat.completion`-shaped dict, with `usage` when the upstream reports it."""
        ...


@runtime_checkable
class VideoProvider(Protocol):
    """OpenAI's videos API: a job created at once, polled until done, then downloaded."""

    @property
    def name(self) -> str: ...

    async def create_video(self, spec: VideoSpec, model: ModelEntry) -> UpstreamVideo:
        """Start a job; the upstream answers at once (normally `queued`)."""
        ...

    async def retrieve_video(self, upstream_id: str) -> UpstreamVideo:
        """The job's current status and progress, or its error once failed."""
        ...

    async def video_content(self, upstream_id: str, variant: str) -> VideoContent:
        """The finished video (`video`) or a preview (`thumbnail`, `spritesheet`)."""
        ...
