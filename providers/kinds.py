"""The provider kinds (a catalog row's `kind`, its wire format): what each can serve, as data
(the catalog is checked against it when the app starts), and how a row of it is built. A new
OpenAI-compatible upstream is a new row; a new wire format is a new entry here. A kind's module
is imported only when a row of that kind is configured.

Each `serve` hands out the one upstream object under every endpoint the kind declares, so mypy
checks that the object has each protocol; providers/registry.py checks at start that the
handles match the declaration, and tests/test_registry_checks.py does so for every kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from domain.provider_kinds import KindCapabilities
from providers.http.client import HttpClient
from providers.rows import Row
from providers.served import Served

Serve = Callable[[Row, Mapping[str, str], HttpClient], Served]


@dataclass(frozen=True)
class Kind:
    capabilities: KindCapabilities
    serve: Serve


def _echo(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    from providers.echo import model as echo

    model = echo.build(row, env, client)
    return Served(
        chat=model,
        completions=model,
        embeddings=model,
        images=model,
        videos=model,
        transcriptions=model,
    )


def _openai_compatible(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    from providers.openai_compatible import client as openai_compatible

    upstream = openai_compatible.build(row, env, client)
    has_images = upstream.image_api in openai_compatible.IMAGE_APIS

    def served(api: openai_compatible.OpenAICompatible) -> Served:
        return Served(
            chat=api,
            completions=api,
            embeddings=api,
            images=api if has_images else None,
            videos=api,
            transcriptions=api,
            models=api,
            with_user_key=(lambda key: served(api.with_api_key(key))) if row.get("byok") else None,
        )

    return served(upstream)


def _anthropic(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    from providers.anthropic import client as anthropic

    return Served(chat=anthropic.build(row, env, client))


def _gemini(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    from providers.gemini import client as gemini

    upstream = gemini.build(row, env, client)
    return Served(chat=upstream, embeddings=upstream, images=upstream, transcriptions=upstream)


def _replicate(row: Row, env: Mapping[str, str], client: HttpClient) -> Served:
    from providers.replicate import client as replicate

    return Served(images=replicate.build(row, env, client))


EVERY_ENDPOINT = KindCapabilities(
    chat=True, completions=True, embeddings=True, images=True, videos=True, transcriptions=True
)

KINDS: dict[str, Kind] = {
    # The offline echo models: every endpoint, no upstream, no key.
    "echo": Kind(EVERY_ENDPOINT, _echo),
    # OpenAI, OpenRouter, Ollama, vLLM, llama.cpp...: images through the API the row's
    # `images` names (`generations`: OpenAI's; `chat`: OpenRouter's chat with `modalities`).
    "openai_compatible": Kind(
        KindCapabilities(
            chat=True,
            completions=True,
            embeddings=True,
            images=True,
            videos=True,
            transcriptions=True,
            model_lists=True,
            user_keys=True,
            image_apis=frozenset({"generations", "chat"}),
        ),
        _openai_compatible,
    ),
    "anthropic": Kind(KindCapabilities(chat=True), _anthropic),
    # Gemini's chat and embeddings, Imagen's images, and transcription through chat with audio.
    "gemini": Kind(
        KindCapabilities(chat=True, embeddings=True, images=True, transcriptions=True), _gemini
    ),
    # Replicate's predictions: image models only.
    "replicate": Kind(KindCapabilities(images=True), _replicate),
}

CAPABILITIES: dict[str, KindCapabilities] = {
    name: kind.capabilities for name, kind in KINDS.items()
}
