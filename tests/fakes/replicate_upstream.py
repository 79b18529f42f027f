"""A fake Replicate predictions API, for tests.

- `POST /v1/models/{owner}/{name}/predictions` with `{"input": {...}}` answers 201 with a
  prediction: finished already when `Prefer: wait` is sent and the script says it finishes at
  once, else `starting` with `output: null`.
- `GET /v1/predictions/{id}` moves it along: `processing` for the scripted number of polls, then
  its terminal status (`succeeded`, `failed` with `error`, `canceled`).
- `POST /v1/predictions/{id}/cancel` cancels it.
- Outputs are links to `GET /delivery/{id}/out-{i}.png` on this fake (no key needed, like
  `replicate.delivery`): a list of URLs, or one URL string for models like recraft-v3.
- Errors are RFC 7807 problem details (`title`, `detail`, `status`); 401 without a valid
  `Authorization: Bearer` (or `Token`) header; 422 when `input.prompt` is missing.

Tests queue one `Plan` (or `Failure`) per created prediction::

    fake = FakeReplicate(api_token="r8_test")
    with fake.serve() as url:
        fake.plan(polls=2)                               # processing twice, then succeeded
        fake.plan(status="failed", error="NSFW content detected")
        fake.fail(429, retry_after=1)
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .pngs import tiny_png
from .scripted import ScriptedFake

JSON = dict[str, Any]
SINGLE_OUTPUT_MODELS = frozenset({"recraft-ai/recraft-v3"})


def problem(status: int, title: str, detail: str) -> JSON:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


@dataclass(frozen=True)
class Plan:
    polls: int = 0  # GETs that still answer `processing`
    status: str = "succeeded"
    error: str | None = None
    outputs: int | None = None  # default: input.num_outputs, or 1


@dataclass(frozen=True)
class Failure:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Prediction:
    id: str
    model: str
    input: JSON
    plan: Plan
    polls_left: int
    status: str = "starting"
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def finish(self) -> None:
        self.status = self.plan.status


class FakeReplicate(ScriptedFake["Plan | Failure", RecordedRequest]):
    def __init__(self, api_token: str = "r8_fake_token") -> None:
        super().__init__()
        self.api_token = api_token
        self._predictions: dict[str, _Prediction] = {}
        self._guard = threading.Lock()
        self.canceled: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/v1/models/{owner}/{name}/predictions", self._create, methods=["POST"]),
                Route("/v1/predictions/{id}", self._get, methods=["GET"]),
                Route("/v1/predictions/{id}/cancel", self._cancel, methods=["POST"]),
                Route("/delivery/{id}/{file}", self._delivery, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # ---- scripting --------------------------------------------------------------------------

    def plan(self, **options: Any) -> None:
        self._push([Plan(**options)])

    def fail(self, status: int, body: JSON | None = None, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        detail = "Request was throttled. Expected available in 1 second."
        default = {"detail": detail} if status == 429 else problem(status, "Error", "Failed.")
        self._push([Failure(status, body or default, headers)])

    def reset(self) -> None:
        super().reset()
        with self._guard:
            self._predictions.clear()
            self.canceled.clear()

    # ---- HTTP -------------------------------------------------------------------------------

    async def _recorded(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self._record(RecordedRequest(request.method, request.url.path, headers, body))
        return body

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme in ("Bearer", "Token") and token == self.api_token

    def _unauthorized(self) -> JSONResponse:
        return JSONResponse(
            problem(401, "Unauthenticated", "You did not pass a valid authentication token"), 401
        )

    async def _create(self, request: Request) -> Response:
        body = await self._recorded(request)
        if not self._authorized(request):
            return self._unauthorized()
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        if not isinstance(body, dict) or not (body.get("input") or {}).get("prompt"):
            return JSONResponse(
                problem(422, "Input validation failed", "- input: prompt is required"), 422
            )
        outcome = self._next(Plan())
        if isinstance(outcome, Failure):
            return JSONResponse(outcome.body, outcome.status, outcome.headers)
        prediction = _Prediction(
            f"{secrets.token_hex(13)}", model, body["input"], outcome, outcome.polls
        )
        if request.headers.get("prefer", "").startswith("wait") and outcome.polls == 0:
            prediction.finish()
        with self._guard:
            self._predictions[prediction.id] = prediction
        return JSONResponse(self._json(prediction, request), 201)

    async def _get(self, request: Request) -> Response:
        await self._recorded(request)
        if not self._authorized(request):
            return self._unauthorized()
        with self._guard:
            prediction = self._predictions.get(request.path_params["id"])
            if prediction is None:
                return JSONResponse(problem(404, "Not found", "Prediction not found."), 404)
            if prediction.status in ("starting", "processing"):
                if prediction.polls_left > 0:
                    prediction.polls_left -= 1
                    prediction.status = "processing"
                else:
                    prediction.finish()
        return JSONResponse(self._json(prediction, request))

    async def _cancel(self, request: Request) -> Response:
        await self._recorded(request)
        if not self._authorized(request):
            return self._unauthorized()
        with self._guard:
            prediction = self._predictions.get(request.path_params["id"])
            if prediction is None:
                return JSONResponse(problem(404, "Not found", "Prediction not found."), 404)
            if prediction.status in ("starting", "processing"):
                prediction.status = "canceled"
            self.canceled.append(prediction.id)
        return JSONResponse(self._json(prediction, request))

    async def _delivery(self, request: Request) -> Response:
        with self._guard:
            prediction = self._predictions.get(request.path_params["id"])
        file = request.path_params["file"]
        if prediction is None or prediction.status != "succeeded" or not file.startswith("out-"):
            return Response("Not Found", 404)
        index = int(file.removeprefix("out-").split(".")[0])
        return Response(tiny_png(f"{prediction.input['prompt']}#{index}"), media_type="image/png")

    # ---- the prediction object (section 7.2) ----------------------------------------------

    def _json(self, prediction: _Prediction, request: Request) -> JSON:
        base = str(request.base_url).rstrip("/")
        output: Any = None
        if prediction.status == "succeeded":
            count = prediction.plan.outputs or int(prediction.input.get("num_outputs") or 1)
            urls = [f"{base}/delivery/{prediction.id}/out-{i}.png" for i in range(count)]
            output = urls[0] if prediction.model in SINGLE_OUTPUT_MODELS else urls
        done = prediction.status in ("succeeded", "failed", "canceled")
        api = f"{base}/v1/predictions/{prediction.id}"
        return {
            "id": prediction.id,
            "model": prediction.model,
            "version": "dp-4d0bcc010b3049749a251855f12800be",
            "input": prediction.input,
            "logs": "",
            "output": output,
            "error": prediction.plan.error if prediction.status == "failed" else None,
            "status": prediction.status,
            "source": "api",
            "data_removed": False,
            "created_at": prediction.created_at,
            "started_at": prediction.created_at if prediction.status != "starting" else None,
            "completed_at": datetime.now(UTC).isoformat() if done else None,
            "metrics": {"predict_time": 0.84, "total_time": 0.86} if done else {},
            "urls": {
                "get": api,
                "cancel": f"{api}/cancel",
                "web": f"https://replicate.com/p/{prediction.id}",
            },
        }
