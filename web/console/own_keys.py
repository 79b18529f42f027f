"""A user's own OpenRouter key (BYOK), sealed as `wmgw byok set` seals it; shown back only by
its last four characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain import sealing
from storage import provider_keys

if TYPE_CHECKING:
    from web.console import Console

MAX_KEY_LENGTH = 500  # sealed, it must fit provider_keys.sealed_key (1000)


async def last_four(console: Console, user_id: str, provider: str) -> str | None:
    async with console.services.engine.connect() as conn:
        sealed = (await provider_keys.sealed_for(conn, user_id)).get(provider)
    if sealed is None:
        return None
    try:
        return sealing.unseal(console.services.settings.server_secret, sealed, user_id)[-4:]
    except sealing.Unsealable:
        return None


async def store(console: Console, user_id: str, provider: str, key: str) -> None:
    sealed = sealing.seal(console.services.settings.server_secret, key, user_id)
    async with console.services.engine.begin() as conn:
        await provider_keys.put(conn, user_id, provider, sealed)
    console.services.auth.user_keys.discard(user_id)  # this process sees it at once


async def remove(console: Console, user_id: str, provider: str) -> bool:
    async with console.services.engine.begin() as conn:
        removed = await provider_keys.remove(conn, user_id, provider)
    console.services.auth.user_keys.discard(user_id)
    return removed
