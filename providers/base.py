"""What providers offer the gateway: one protocol per kind of endpoint. Which of them a
provider's wire format serves is declared by its kind (providers/kinds.py), which hands the
provider out under each (providers/served.py), so mypy checks that it has them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.catalog import ModelEntry
from domain.images import ImageRequest
from domain.videos import UpstreamVideo, VideoContent, VideoSpec
from providers.transcripts import TranscriptionRequest, TranscriptionResult

Chunk = dict[str, Any]
# A chunk may carry, under this key, the usage an upstream reported before its end (Anthropic
# reports the prompt in `message_start`), so that a stream cut short is charged by the
# upstream's counts where it gave them. The gateway never sends it on.
PARTIAL_USAGE = "wmgw_partial_usage"


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


class TextCompletionProvider(Protocol):
    """Serves OpenAI's legacy `POST /completions` itself: an OpenAI-compatible upstream (passed
    through) or the offline echo model. Chat providers without it are served by translation
    (`usecases/completions.py`)."""

    @property
    def name(self) -> str: ...

    def stream_text_completion(
        self, body: Mapping[str, Any], model: ModelEntry
    ) -> AsyncIterator[Chunk]:
        """Yield the upstream's `text_completion` chunks for a legacy completions request,
        ending with one carrying `usage` (always asked for). Failures raise GatewayErrors."""
        ...

    async def complete_text(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        """One `text_completion`-shaped dict, with `usage` when the upstream reports it."""
        ...


class EmbeddingsProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def create_embeddings(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        """An OpenAI `CreateEmbeddingResponse`-shaped dict for an OpenAI embeddings request
        body: `data[].embedding` as floats or base64 strings (the gateway answers in the
        encoding the client asked for), `usage` when the upstream reports it. Failures raise
        `domain.errors.GatewayError`s."""
        ...


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes  # the encoded image file (PNG, JPEG, WebP...)
    mime_type: str
    revised_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class ImageResult:
    images: list[GeneratedImage]
    # OpenAI's `usage` object when the upstream reports one (GPT image models), and its other
    # top-level fields (`background`, `output_format`, `quality`, `size`) as it sent them.
    usage: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    # Prompt and output tokens for the ledger, when the upstream counts them.
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ImageProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        """The images for an `/images/generations` request, as bytes (never a provider URL:
        those vanish). Fewer than `request.n` when the upstream filtered some. Failures raise
        `domain.errors.GatewayError`s."""
        ...


class TranscriptionProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        """The transcript of `request.audio` in `request.response_format`, as OpenAI answers
        `POST /audio/transcriptions`, with token usage when the upstream reports it."""
        ...


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


class ModelLister(Protocol):
    """An upstream that lists its own models (`GET /models`): the gateway discovers them
    (gateway/model_sources.py)."""

    @property
    def name(self) -> str: ...

    async def list_models(self) -> dict[str, Any]:
        """The upstream's list as it sends it (`{"data": [...]}`); GatewayErrors otherwise."""
        ...
