"""A fake of OpenAI's `POST /v1/images/generations`, for tests.

- dall-e-3: `n` must be 1, sizes `1024x1024`/`1792x1024`/`1024x1792`, `url` by default (a link
  to `GET /files/<id>.png` on this fake, like OpenAI's blob links) or `b64_json`, and a
  `revised_prompt` per image.
- GPT image models (`gpt-image-*`): always `b64_json`; `response_format` and `style` are refused
  as unknown parameters; the answer has `background`, `output_format`, `quality`, `size` and a
  token `usage`.
- Errors are OpenAI's envelope, 401 for a missing or wrong key.

Tests queue outcomes, one per request::

    fake = FakeOpenAIImages(api_key="sk-test")
    with fake.serve() as url:            # the API is at f"{url}/v1"
        fake.reply(revised_prompt="A photorealistic otter")
        fake.fail(400, openai_error("Rejected.", code="content_policy_violation"))

With an empty queue, each image is a tiny PNG labelled `<prompt>#<index>` (tests/fakes/pngs.py).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .openai_errors import invalid_api_key_error, missing_api_key_error, openai_error
from .pngs import tiny_png
from .scripted import ScriptedFake

JSON = dict[str, Any]
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}  # per 1024x1024 image


@dataclass(frozen=True)
class Reply:
    revised_prompt: str | None = None  # dall-e-3; default: "A detailed image of <prompt>"
    images: int | None = None  # how many to return (default: n)


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


def _invalid(message: str, param: str, code: str) -> JSONResponse:
    return JSONResponse(openai_error(message, param=param, code=code), 400)


class FakeOpenAIImages(ScriptedFake["Reply | Failure", RecordedRequest]):
    def __init__(self, api_key: str = "sk-fake-images-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.files: dict[str, bytes] = {}
        self.app = Starlette(
            routes=[
                Route("/v1/images/generations", self._generate, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def reset(self) -> None:
        super().reset()
        self.files.clear()

    def reply(self, **options: Any) -> None:
        self._push([Reply(**options)])

    def fail(self, status: int, body: JSON) -> None:
        self._push([Failure(status, body)])

    async def _file(self, request: Request) -> Response:
        data = self.files.get(request.path_params["name"])
        if data is None:
            return Response("<Error><Code>BlobNotFound</Code></Error>", 404)
        return Response(data, media_type="image/png")

    async def _generate(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self._record(RecordedRequest(request.url.path, headers, body))
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return JSONResponse(missing_api_key_error(), 401)
        if key != self.api_key:
            return JSONResponse(invalid_api_key_error(key), 401)
        if not isinstance(body, dict) or not body.get("prompt"):
            return _invalid(
                "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
            )
        outcome = self._next(Reply())
        if isinstance(outcome, Failure):
            return JSONResponse(outcome.body, outcome.status)
        model = str(body.get("model") or "dall-e-2")
        if model.startswith("gpt-image"):
            return self._gpt_image(body, outcome)
        return self._dalle(body, outcome, str(request.base_url).rstrip("/"))

    def _pngs(self, body: JSON, reply: Reply) -> list[bytes]:
        count = reply.images if reply.images is not None else int(body.get("n") or 1)
        return [tiny_png(f"{body['prompt']}#{i}") for i in range(count)]

    def _dalle(self, body: JSON, reply: Reply, base: str) -> Response:
        n = int(body.get("n") or 1)
        if body.get("model") == "dall-e-3" and n != 1:
            return _invalid(
                f"Invalid 'n': integer above maximum value. Expected a value <= 1, but got {n} "
                "instead.",
                "n",
                "integer_above_max_value",
            )
        size = body.get("size") or "1024x1024"
        if body.get("model") == "dall-e-3" and size not in DALLE3_SIZES:
            return _invalid(
                f"Invalid value: '{size}'. Supported values are: 'dall-e-3': "
                f"{', '.join(DALLE3_SIZES)}.",
                "size",
                "invalid_value",
            )
        revised = reply.revised_prompt or f"A detailed image of {body['prompt']}"
        data = []
        for png in self._pngs(body, reply):
            item: JSON = {"revised_prompt": revised}
            if body.get("response_format") == "b64_json":
                item["b64_json"] = base64.b64encode(png).decode()
            else:
                name = f"img-{secrets.token_urlsafe(16)}.png"
                self.files[name] = png
                item["url"] = f"{base}/files/{name}"
            data.append(item)
        return JSONResponse({"created": int(time.time()), "data": data})

    def _gpt_image(self, body: JSON, reply: Reply) -> Response:
        for unknown in ("response_format", "style"):
            if unknown in body:
                return _invalid(f"Unknown parameter: '{unknown}'.", unknown, "unknown_parameter")
        size = body.get("size") or "auto"
        if size not in GPT_IMAGE_SIZES:
            return _invalid(
                f"Invalid value: '{size}'. Supported values are: {', '.join(GPT_IMAGE_SIZES)}.",
                "size",
                "invalid_value",
            )
        quality = body.get("quality") or "auto"
        quality = "high" if quality == "auto" else quality
        pngs = self._pngs(body, reply)
        prompt_tokens = len(str(body["prompt"]).split())
        output_tokens = OUTPUT_TOKENS.get(quality, 4160) * len(pngs)
        return JSONResponse(
            {
                "created": int(time.time()),
                "background": body.get("background")
                if body.get("background") in ("transparent", "opaque")
                else "opaque",
                "output_format": body.get("output_format") or "png",
                "quality": quality,
                "size": "1024x1024" if size == "auto" else size,
                "data": [{"b64_json": base64.b64encode(png).decode()} for png in pngs],
                "usage": {
                    "input_tokens": prompt_tokens,
                    "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
                    "output_tokens": output_tokens,
                    "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
                    "total_tokens": prompt_tokens + output_tokens,
                },
            }
        )
