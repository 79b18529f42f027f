"""Stored responses (`POST /responses` with `store` not false), always read within one
workspace: another workspace's id is unknown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import responses


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    workspace_id: str
    user_id: str
    response: dict[str, Any]  # the `response` object as it was returned
    input_items: list[dict[str, Any]]  # the conversation before the response's output

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """Every item up to and including this response's output: what a next turn continues."""
        return [*self.input_items, *self.response.get("output", [])]


async def put(conn: AsyncConnection, stored: StoredResponse) -> None:
    await conn.execute(
        responses.insert().values(
            id=stored.id,
            workspace_id=stored.workspace_id,
            user_id=stored.user_id,
            model=str(stored.response.get("model", "")),
            status=str(stored.response.get("status", "")),
            response=stored.response,
            input_items=stored.input_items,
            created_at=datetime.now(UTC),
        )
    )


async def get(conn: AsyncConnection, workspace_id: str, response_id: str) -> StoredResponse | None:
    row = (
        await conn.execute(
            select(responses).where(
                responses.c.id == response_id, responses.c.workspace_id == workspace_id
            )
        )
    ).first()
    if row is None:
        return None
    return StoredResponse(
        id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        response=dict(row.response),
        input_items=list(row.input_items),
    )


async def remove(conn: AsyncConnection, workspace_id: str, response_id: str) -> bool:
    result = await conn.execute(
        delete(responses).where(
            responses.c.id == response_id, responses.c.workspace_id == workspace_id
        )
    )
    return result.rowcount == 1
