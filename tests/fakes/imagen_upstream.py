"""A fake Imagen on the Gemini API: `POST /v1beta/models/{model}:predict`, for tests.
Also answers the Vertex AI path
(`/v1beta1/projects/.../models/{model}:predict`) that the google-genai SDK uses, since the SDK
only generates images in Vertex mode: the bodies are the same.

Request: `instances[0].prompt` (required), `parameters.sampleCount` (1-4), `aspectRatio`
(`1:1`, `3:4`, `4:3`, `9:16`, `16:9`), `outputOptions.mimeType`, `includeRaiReason`.
Response: `{"predictions": [{"mimeType", "bytesBase64Encoded"}, ...]}`; a filtered image is an
entry with only `raiFilteredReason` (when `includeRaiReason`), or is left out. Errors use
Google's envelope (tests/fakes/gemini_errors.py), a wrong key is a 400.

Tests queue one outcome per predict call::

    fake.reply(filtered=1)          # the last image is filtered
    fake.fail(429)
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from .gemini_errors import default_error, google_error, invalid_key_error
from .gemini_http import send_json
from .pngs import tiny_png
from .scripted import ScriptedFake
from .server import answer_lifespan, lower_headers, read_body

JSON = dict[str, Any]
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
FILTERED = (
    "Your current safety filter threshold filtered out 1 generated images. You will not be "
    "charged for blocked images. Try rephrasing the prompt."
)
_PATH = re.compile(r"^/(v1beta|v1|v1beta1)/(?:.+/)?models/([^/:]+):predict$")


@dataclass(frozen=True)
class Reply:
    filtered: int = 0  # how many of the images (the last ones) the safety filter removes


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON | None = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any
    model: str | None


class FakeImagen(ScriptedFake["Reply | Failure", RecordedRequest]):
    def __init__(self, api_key: str | None = "AIza-fake-imagen-key") -> None:
        super().__init__()
        self.api_key = api_key  # None: any caller (the SDK's Vertex mode, anonymous)

    def reply(self, **options: Any) -> None:
        self._push([Reply(**options)])

    def fail(self, status: int = 500, body: JSON | None = None) -> None:
        self._push([Failure(status, body)])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        headers = lower_headers(scope)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        match = _PATH.match(scope["path"])
        model = match.group(2) if match else None
        self._record(RecordedRequest(scope["path"], headers, body, model))
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        key = headers.get("x-goog-api-key") or query.get("key")
        if self.api_key is not None and key != self.api_key:
            await send_json(send, 400, invalid_key_error())
            return
        if not match or scope["method"] != "POST":
            await send_json(send, 404, google_error(404, f"Not found: {scope['path']}"))
            return
        problem = _invalid(body)
        if problem:
            await send_json(send, 400, google_error(400, problem))
            return
        outcome = self._next(Reply())
        if isinstance(outcome, Failure):
            body_out = outcome.body or default_error(outcome.status, model or "")
            await send_json(send, outcome.status, body_out)
            return
        await send_json(send, 200, _predictions(body, outcome))


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        return "Invalid JSON payload received. Unknown name: instances is required."
    if not body["instances"] or not (body["instances"][0] or {}).get("prompt"):
        return "* instances[0].prompt: required"
    parameters = body.get("parameters") or {}
    count = parameters.get("sampleCount", 4)
    if not isinstance(count, int) or not 1 <= count <= 4:
        return "Number of images must be in the range [1, 4]."
    if parameters.get("aspectRatio", "1:1") not in ASPECT_RATIOS:
        return f"Unsupported aspect ratio: {parameters.get('aspectRatio')}."
    return None


def _predictions(body: JSON, reply: Reply) -> JSON:
    parameters = body.get("parameters") or {}
    prompt = body["instances"][0]["prompt"]
    mime = (parameters.get("outputOptions") or {}).get("mimeType", "image/png")
    count = parameters.get("sampleCount", 4)
    kept = max(0, count - reply.filtered)
    predictions: list[JSON] = [
        {
            "mimeType": mime,
            "bytesBase64Encoded": base64.b64encode(tiny_png(f"{prompt}#{i}")).decode(),
        }
        for i in range(kept)
    ]
    if parameters.get("includeRaiReason"):
        predictions += [{"raiFilteredReason": FILTERED} for _ in range(count - kept)]
    return {"predictions": predictions}
