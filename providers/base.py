"""What providers offer the gateway: one runtime-checkable protocol per kind of endpoint, so
the registry can tell whether a provider's wire format serves it (`Registry.serving`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, runtime_checkable

from domain.catalog import ModelEntry
from providers.transcripts import TranscriptionRequest, TranscriptionResult

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
class TranscriptionProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        """The transcript of `request.audio` in `request.response_format`, as OpenAI answers
        `POST /audio/transcriptions`, with token usage when the upstream reports it."""
        ...
