"""Whether this process can serve requests: its database answers, at the schema this code
needs. Each failure is a 503 naming what is wrong, and a warning in the log for the operator
(the class of the error and its first line, scrubbed; never the database URL)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import ServiceUnavailable
from domain.scrub import scrub
from storage.revisions import Revisions, database_revision

log = logging.getLogger("wmgw.readiness")

# Probes (Docker, Kubernetes, a load balancer) give up after a few seconds: answer before
# them, so a database that hangs is reported as unreachable rather than as a probe timeout.
DATABASE_SECONDS = 2.0


async def check(engine: AsyncEngine, code: Revisions, timeout: float = DATABASE_SECONDS) -> None:
    """Returns when ready; raises ServiceUnavailable otherwise.

    A database migrated past this code's newest migration (a newer release ran `wmgw
    migrate` while this one still serves, as in a rolling upgrade) counts as ready: failing
    here could not fix it, and would take every old process out of service at once."""
    current = await _database_revision(engine, timeout)
    if current == code.head or (current is not None and current not in code.known):
        return
    log.warning("not ready: the database is at revision %s, this code needs %s", current, code.head)
    raise ServiceUnavailable(
        f"The database is at revision {current or 'none'}; this gateway needs {code.head}. "
        "Run `wmgw migrate`.",
        code="migrations_pending",
    )


async def _database_revision(engine: AsyncEngine, timeout: float) -> str | None:
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            return await database_revision(conn)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        reason = scrub(str(exc) or f"no answer in {timeout} s").splitlines()[0]
        log.warning("not ready: the database is unreachable: %s: %s", type(exc).__name__, reason)
        raise ServiceUnavailable(
            "The gateway cannot reach its database.", code="database_unreachable"
        ) from exc
