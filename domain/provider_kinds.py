"""What a provider row's `kind` (its wire format) can serve, as data: the endpoints, whether it
lists its own models (`discover:`) and whether it takes users' own keys (`byok: true`). The
table of kinds is providers/kinds.py; the catalog is checked against it when the app starts
(domain/catalog_checks.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A model's capabilities that name an endpoint (`Catalog.route`'s `capability`)...
ENDPOINTS = ("chat", "completions", "embeddings", "images", "video", "transcription")
# ...and those that only describe what a chat model does with a request.
TRAITS = ("streaming", "tools", "vision", "json_schema", "reasoning")
# A row's `discover`: OpenRouter's list synced into the database, or a server's own `GET /models`.
SHARED_DISCOVERY = "openrouter"
LOCAL_DISCOVERY = "openai"


# A catalog capability and the field that serves it, here and on a built provider
# (providers/served.py).
CAPABILITY_FIELDS = (
    ("chat", "chat"),
    ("completions", "completions"),
    ("embeddings", "embeddings"),
    ("images", "images"),
    ("video", "videos"),
    ("transcription", "transcriptions"),
)


@dataclass(frozen=True, slots=True)
class KindCapabilities:
    chat: bool = False
    # Legacy `POST /completions` passed through to the upstream's own endpoint; a kind without
    # it serves a chat model's completions by translation through its chat API.
    completions: bool = False
    embeddings: bool = False
    images: bool = False
    videos: bool = False
    transcriptions: bool = False
    model_lists: bool = False  # `GET /models`: its rows may say `discover:`
    user_keys: bool = False  # its rows may say `byok: true`
    # The image APIs a row of this kind chooses from with its `images` field (OpenAI's
    # generations, OpenRouter's chat with `modalities`); a row naming none serves no images.
    # Empty: the kind has one image API, always on.
    image_apis: frozenset[str] = frozenset()

    def endpoints(self) -> frozenset[str]:
        return frozenset(name for name, field in CAPABILITY_FIELDS if getattr(self, field))

    def row_endpoints(self, row: Mapping[str, Any]) -> frozenset[str]:
        """The endpoints one row of this kind serves: its `images` field may turn images off."""
        endpoints = self.endpoints()
        if self.image_apis and row.get("images") not in self.image_apis:
            return endpoints - {"images"}
        return endpoints

    def unservable(self, row: Mapping[str, Any], capabilities: frozenset[str]) -> set[str]:
        """The endpoints among a model's `capabilities` that a row of this kind cannot serve.
        Legacy completions are served by translation when the model also chats."""
        served = self.row_endpoints(row)
        missing = {cap for cap in capabilities if cap in ENDPOINTS and cap not in served}
        if "completions" in missing and "chat" in capabilities and "chat" in served:
            missing.discard("completions")
        return missing
