"""OpenAI's videos API (sora-2) for the fake OpenAI upstream, from the
official `VideoResource`/`CreateVideoMultipartBody` schemas.

``FakeOpenAIUpstream`` routes ``/v1/videos*`` here (``fake.videos``):

- ``POST /v1/videos`` takes ``multipart/form-data`` (what the SDK always sends, with
  ``input_reference`` as a file part) or JSON, checks the fields as OpenAI does, and answers
  200 with the job ``queued``.
- ``GET /v1/videos/{id}`` moves the job one step per poll: ``in_progress`` 33, 66, then
  ``completed`` (with ``completed_at`` and ``expires_at``), unless scripted to fail.
- ``GET /v1/videos/{id}/content?variant=`` serves bytes (``video/mp4``, ``image/webp`` for the
  thumbnail, ``image/jpeg`` for the spritesheet) once completed; before that, 404.

Scripting::

    fake.videos.fail_next_job(after_polls=1, code="moderation_blocked")
    fake.videos.fail_next_create(500)          # the create call itself fails
    fake.videos.fail_next_polls(2, status=503) # the next two polls answer 503
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Scope

SECONDS = ("4", "8", "12")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
STEPS = (33, 66)  # progress of the polls before completion
CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


class Exchange(Protocol):
    async def json(self, status: int, payload: Any, extra: Any = None) -> None: ...

    async def body(
        self, status: int, body: bytes, content_type: str, extra: Any = None
    ) -> None: ...


def error(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def content_bytes(video_id: str, variant: str) -> bytes:
    """Deterministic bytes per job and variant, large enough to arrive in several chunks."""
    head = {"video": b"\x00\x00\x00\x18ftypmp42", "thumbnail": b"RIFF\x00\x00\x00\x00WEBP"}
    seed = f"{video_id}:{variant}:".encode()
    return head.get(variant, b"\xff\xd8\xff\xe0") + (seed * (300_000 // len(seed)))


@dataclass
class FakeJob:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: int
    fail_after: int | None = None
    failure: dict[str, str] | None = None
    polls: int = 0
    completed_at: int | None = None

    @property
    def status(self) -> str:
        if self.fail_after is not None and self.polls >= self.fail_after:
            return "failed"
        if self.polls == 0:
            return "queued"
        return "in_progress" if self.polls <= len(STEPS) else "completed"

    def resource(self) -> dict[str, Any]:
        status = self.status
        progress = {"queued": 0, "failed": 0, "completed": 100}.get(status)
        if status == "completed" and self.completed_at is None:
            self.completed_at = int(time.time())
        done = status == "completed"
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": progress if progress is not None else STEPS[self.polls - 1],
            "created_at": self.created_at,
            "completed_at": self.completed_at if done else None,
            "expires_at": self.completed_at + 3600 if done and self.completed_at else None,
            "prompt": self.prompt,
            "seconds": self.seconds,
            "size": self.size,
            "remixed_from_video_id": None,
            "error": self.failure if status == "failed" else None,
        }


@dataclass
class CreateRecord:
    content_type: str
    fields: dict[str, Any]
    files: dict[str, tuple[str | None, str | None, int]] = field(default_factory=dict)


class FakeVideosAPI:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs: dict[str, FakeJob] = {}
        self.creates: list[CreateRecord] = []
        self.content_requests: list[tuple[str, str, str]] = []  # (id, variant, accept)
        self._fail_jobs: deque[tuple[int, dict[str, str]]] = deque()
        self._fail_creates: deque[int] = deque()
        self._fail_polls: deque[int] = deque()

    def reset(self) -> None:
        with self._lock:
            self.jobs.clear()
            self.creates.clear()
            self.content_requests.clear()
            self._fail_jobs.clear()
            self._fail_creates.clear()
            self._fail_polls.clear()

    def fail_next_job(
        self, after_polls: int = 1, code: str = "moderation_blocked", message: str | None = None
    ) -> None:
        text = message or "Your request was blocked by our moderation system."
        with self._lock:
            self._fail_jobs.append((after_polls, {"code": code, "message": text}))

    def fail_next_create(self, status: int) -> None:
        with self._lock:
            self._fail_creates.append(status)

    def fail_next_polls(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail_polls.extend([status] * count)

    def polls_of(self, video_id: str) -> int:
        with self._lock:
            return self.jobs[video_id].polls

    async def handle(self, scope: Scope, raw: bytes, exchange: Exchange) -> None:
        method, path = scope["method"], scope["path"]
        parts = path.removeprefix("/v1/videos").strip("/").split("/")
        if method == "POST" and parts == [""]:
            await self._create(scope, raw, exchange)
        elif method == "GET" and len(parts) == 1 and parts[0]:
            await self._retrieve(parts[0], exchange)
        elif method == "GET" and len(parts) == 2 and parts[1] == "content":
            query = parse_qs(scope.get("query_string", b"").decode())
            variant = query.get("variant", ["video"])[0]
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            await self._content(parts[0], variant, headers.get("accept", ""), exchange)
        else:
            await exchange.json(404, error(f"Invalid URL ({method} {path})"))

    async def _fields(self, scope: Scope, raw: bytes) -> CreateRecord | None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(raw)
            except ValueError:
                return None
            return CreateRecord("json", body) if isinstance(body, dict) else None
        if not content_type.startswith("multipart/form-data"):
            return None

        async def replay() -> Message:
            return {"type": "http.request", "body": raw, "more_body": False}

        form = await Request(scope, replay).form()
        record = CreateRecord("multipart", {})
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                record.files[name] = (value.filename, value.content_type, len(data))
            else:
                record.fields[name] = value
        return record

    async def _create(self, scope: Scope, raw: bytes, exchange: Exchange) -> None:
        record = await self._fields(scope, raw)
        if record is None:
            await exchange.json(400, error("We could not parse the body of your request."))
            return
        with self._lock:
            self.creates.append(record)
            failing = self._fail_creates.popleft() if self._fail_creates else None
        if failing is not None:
            body = error("The server had an error processing your request.")
            body["error"]["type"] = "server_error"
            await exchange.json(failing, body)
            return
        fields = record.fields
        problem = _invalid(fields)
        if problem is not None:
            await exchange.json(400, problem)
            return
        job = FakeJob(
            id=f"video_{secrets.token_hex(24)}",
            model=str(fields.get("model") or "sora-2"),
            prompt=str(fields["prompt"]),
            seconds=str(fields.get("seconds") or "4"),
            size=str(fields.get("size") or "720x1280"),
            created_at=int(time.time()),
        )
        with self._lock:
            if self._fail_jobs:
                job.fail_after, job.failure = self._fail_jobs.popleft()
            self.jobs[job.id] = job
        await exchange.json(200, job.resource())

    async def _retrieve(self, video_id: str, exchange: Exchange) -> None:
        with self._lock:
            job = self.jobs.get(video_id)
            failing = self._fail_polls.popleft() if job and self._fail_polls else None
            if job is not None and failing is None:
                job.polls += 1
                resource = job.resource()
        if job is None:
            await exchange.json(404, error(f"Video with id '{video_id}' not found.", "video_id"))
        elif failing is not None:
            body = error("The engine is currently overloaded, please try again later")
            body["error"]["type"] = "server_error"
            await exchange.json(failing, body)
        else:
            await exchange.json(200, resource)

    async def _content(self, video_id: str, variant: str, accept: str, exchange: Exchange) -> None:
        with self._lock:
            job = self.jobs.get(video_id)
            self.content_requests.append((video_id, variant, accept))
        if job is None:
            await exchange.json(404, error(f"Video with id '{video_id}' not found.", "video_id"))
        elif variant not in CONTENT_TYPES:
            await exchange.json(400, error(f"Invalid variant '{variant}'.", "variant"))
        elif job.status != "completed":
            message = "Video is not ready yet, use GET /v1/videos/{video_id} to check status."
            await exchange.json(404, error(message, "video_id"))
        else:
            data = content_bytes(video_id, variant)
            await exchange.body(200, data, CONTENT_TYPES[variant])


def _invalid(fields: dict[str, Any]) -> dict[str, Any] | None:
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return error(
            "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    seconds = fields.get("seconds")
    if seconds is not None and str(seconds) not in SECONDS:
        return error(
            f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'.",
            "seconds",
            "invalid_value",
        )
    size = fields.get("size")
    if size is not None and size not in SIZES:
        return error(f"Invalid value: '{size}'.", "size", "invalid_value")
    return None
