"""One provider row's upstream as the gateway uses it: a typed handle per endpoint its kind
serves (None where it serves none), and the same upstream with a user's own key where the row
allows it. Endpoints pick one handle, typed, so that the registry needs no casts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.provider_kinds import CAPABILITY_FIELDS
from providers.base import (
    ChatProvider,
    EmbeddingsProvider,
    ImageProvider,
    ModelLister,
    TextCompletionProvider,
    TranscriptionProvider,
    VideoProvider,
)

P = TypeVar("P", covariant=True)


@dataclass(frozen=True, slots=True)
class Served:
    chat: ChatProvider | None = None
    completions: TextCompletionProvider | None = None
    embeddings: EmbeddingsProvider | None = None
    images: ImageProvider | None = None
    videos: VideoProvider | None = None
    transcriptions: TranscriptionProvider | None = None
    models: ModelLister | None = None
    # The same upstream called with a user's own key (BYOK): set on rows saying `byok: true`.
    with_user_key: Callable[[str], Served] | None = None

    def endpoints(self) -> frozenset[str]:
        """The catalog capabilities it serves: what its kind declares, for rows like its own."""
        return frozenset(
            name for name, field in CAPABILITY_FIELDS if getattr(self, field) is not None
        )


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[P]):
    capability: str  # what a catalog model lists to be served on it
    pick: Callable[[Served], P | None]


def _chat(served: Served) -> ChatProvider | None:
    return served.chat


def _completions(served: Served) -> TextCompletionProvider | None:
    return served.completions


def _embeddings(served: Served) -> EmbeddingsProvider | None:
    return served.embeddings


def _images(served: Served) -> ImageProvider | None:
    return served.images


def _videos(served: Served) -> VideoProvider | None:
    return served.videos


def _transcriptions(served: Served) -> TranscriptionProvider | None:
    return served.transcriptions


CHAT = Endpoint("chat", _chat)
COMPLETIONS = Endpoint("completions", _completions)
EMBEDDINGS = Endpoint("embeddings", _embeddings)
IMAGES = Endpoint("images", _images)
VIDEOS = Endpoint("video", _videos)
TRANSCRIPTIONS = Endpoint("transcription", _transcriptions)
