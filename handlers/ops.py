"""Operations endpoints (ops.yaml): liveness and readiness probes, outside the API's base path
and without a key."""

from __future__ import annotations

from gateway.services import Services
from storage.revisions import code_revisions
from usecases import readiness


async def healthz(_services: Services) -> dict[str, str]:
    """The process answers: nothing else is touched, so a busy database never restarts it."""
    return {"status": "ok"}


async def readyz(services: Services) -> dict[str, str]:
    await readiness.check(services.engine, code_revisions())
    return {"status": "ok"}
