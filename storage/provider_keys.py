"""Users' own upstream keys (BYOK), stored sealed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import provider_keys


async def put(conn: AsyncConnection, user_id: str, provider: str, sealed_key: str) -> None:
    await remove(conn, user_id, provider)
    await conn.execute(
        provider_keys.insert().values(
            user_id=user_id, provider=provider, sealed_key=sealed_key, created_at=datetime.now(UTC)
        )
    )


async def remove(conn: AsyncConnection, user_id: str, provider: str) -> bool:
    result = await conn.execute(
        delete(provider_keys).where(
            provider_keys.c.user_id == user_id, provider_keys.c.provider == provider
        )
    )
    return result.rowcount == 1


async def sealed_for(conn: AsyncConnection, user_id: str) -> dict[str, str]:
    """The user's sealed keys by provider."""
    rows = await conn.execute(
        select(provider_keys.c.provider, provider_keys.c.sealed_key).where(
            provider_keys.c.user_id == user_id
        )
    )
    return {provider: sealed for provider, sealed in rows}


async def providers_for(conn: AsyncConnection, user_id: str) -> list[str]:
    return sorted(await sealed_for(conn, user_id))


async def all_sealed(conn: AsyncConnection) -> list[tuple[str, str, str]]:
    """Every stored key: (user id, provider, sealed key)."""
    rows = await conn.execute(
        select(provider_keys.c.user_id, provider_keys.c.provider, provider_keys.c.sealed_key)
    )
    return [(user_id, provider, sealed) for user_id, provider, sealed in rows]


async def replace_sealed(conn: AsyncConnection, user_id: str, provider: str, sealed: str) -> None:
    """The same key sealed anew, keeping when it was stored."""
    await conn.execute(
        update(provider_keys)
        .where(provider_keys.c.user_id == user_id, provider_keys.c.provider == provider)
        .values(sealed_key=sealed)
    )
