"""`GET /models` of a fake upstream, scripted by the tests: what it lists, or the status it
fails with, or how long it hangs; and how often it was asked, with which credentials.

    fake.model_list.data = [{"id": "new/model", ...}]     # listed from the next request on
    fake.model_list.fail(503)                              # every request fails until reset
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

OPENROUTER_SAMPLE = Path(__file__).parent.parent / "fixtures" / "openrouter-models.json"


class ModelList:
    def __init__(self, data: list[dict[str, Any]]) -> None:
        self._initial = copy.deepcopy(data)
        self._lock = threading.Lock()
        self.reset()

    @classmethod
    def openrouter_sample(cls) -> ModelList:
        """OpenRouter's list as checked in (tests/fixtures/openrouter-models.json)."""
        return cls(json.loads(OPENROUTER_SAMPLE.read_text())["data"])

    def reset(self) -> None:
        with self._lock:
            self.data = copy.deepcopy(self._initial)
            self.status: int | None = None
            self.delay = 0.0
            self.authorizations: list[str | None] = []

    def fail(self, status: int) -> None:
        self.status = status

    @property
    def asked(self) -> int:
        with self._lock:
            return len(self.authorizations)

    async def answer(self, request: Request) -> JSONResponse:
        with self._lock:
            self.authorizations.append(request.headers.get("authorization"))
        await asyncio.sleep(self.delay)
        if self.status is not None:
            body = {"error": {"code": self.status, "message": "Model list unavailable"}}
            return JSONResponse(body, self.status)
        return JSONResponse({"data": self.data})
