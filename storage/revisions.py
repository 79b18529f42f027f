"""Which schema revision this code needs (its newest migration) and which one a database is
at, both as Alembic records them, for the readiness check."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.migrate import MIGRATIONS


@dataclass(frozen=True)
class Revisions:
    head: str  # the newest migration of this code
    known: frozenset[str]  # every migration of this code, the head included


@functools.cache
def code_revisions() -> Revisions:
    """Read from the migration scripts once per process: they do not change under it."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError(f"no migration in {MIGRATIONS}")
    return Revisions(head, frozenset(rev.revision for rev in script.walk_revisions()))


async def database_revision(conn: AsyncConnection) -> str | None:
    """The revision the database was migrated to; None for one never migrated."""
    return await conn.run_sync(_current_revision)


def _current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()
