"""Who is calling: developer key → user → workspace (and its plan).

A malformed or forged key is refused from its signature alone, before any database read. Key
owners and workspace memberships are cached for a couple of seconds per process, which bounds
how long a revoked key keeps working (`WMGW_KEY_CACHE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from domain import keys, sealing
from domain.errors import InvalidApiKey, PermissionDenied
from domain.ratelimit import RateReport
from storage import accounts, provider_keys

T = TypeVar("T")
log = logging.getLogger("wmgw.auth")
TOUCH_EVERY = timedelta(minutes=1)
INVALID_KEY = "Incorrect API key provided. You can create a new key with `wmgw key create`."


@dataclass(frozen=True, slots=True)
class Caller:
    request_id: str
    user_id: str
    key_id: str
    workspace_id: str
    plan: str
    daily_message_limit: int | None
    daily_image_limit: int | None = None
    time_zone: str = "UTC"  # the workspace's: its daily windows end at midnight there
    pool: accounts.Pool | None = None  # the message pool the workspace draws on, if any
    # The user's own upstream keys (BYOK) by provider; kept out of repr so no log shows them.
    own_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Requests and tokens per minute: the key's own, else its plan's default; None: unlimited.
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    # This request's rate-limit decisions, for its x-ratelimit-* headers.
    rates: RateReport | None = field(default=None, repr=False, compare=False)

    def own_key(self, provider: str) -> str | None:
        return self.own_keys.get(provider)


class TTLCache(Generic[T]):
    """Values kept for `seconds` per process, looked up once however many requests want one
    at the same moment, and refreshed in the background while still fresh: requests under
    load never all wait for the database together when an entry expires."""

    REFRESH_AFTER = 0.75  # of an entry's life: past it, a request refreshes it for the next

    def __init__(self, seconds: float, max_items: int = 10_000) -> None:
        self.seconds = seconds
        self.max_items = max_items
        self._items: dict[Any, tuple[float, T]] = {}
        self._loading: dict[Any, asyncio.Future[T | None]] = {}

    def get(self, key: Any) -> T | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    async def get_or_load(self, key: Any, load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached value, or `load()`'s (kept unless None), one load at a time per key."""
        hit = self._items.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] >= now:
            if hit[0] - now < self.seconds * (1 - self.REFRESH_AFTER):
                self._start(key, load)  # for the requests after this one
            return hit[1]
        return await asyncio.shield(self._start(key, load))

    def _start(self, key: Any, load: Callable[[], Awaitable[T | None]]) -> asyncio.Future[T | None]:
        pending = self._loading.get(key)
        if pending is None:
            pending = self._loading[key] = asyncio.ensure_future(self._load(key, load))
        return pending

    async def _load(self, key: Any, load: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            value = await load()
            if value is not None:
                self.put(key, value)
            return value
        finally:
            self._loading.pop(key, None)

    def discard(self, key: Any) -> None:
        self._items.pop(key, None)

    def put(self, key: Any, value: T) -> None:
        if len(self._items) >= self.max_items:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.seconds, value)


def _usable(owner: accounts.KeyOwner, secret: str, now: datetime) -> bool:
    if not keys.secret_matches(secret, owner.secret_hash) or owner.revoked_at is not None:
        return False
    return owner.expires_at is None or _aware(owner.expires_at) > now


def _own_or_default(own: int | None, default: int | None) -> int | None:
    return own if own is not None else default


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Authenticator:
    def __init__(self, engine: AsyncEngine, server_secret: bytes, cache_seconds: float) -> None:
        self.engine = engine
        self.server_secret = server_secret
        self.owners: TTLCache[accounts.KeyOwner] = TTLCache(cache_seconds)
        self.access: TTLCache[accounts.WorkspaceAccess] = TTLCache(cache_seconds)
        self.user_keys: TTLCache[dict[str, str]] = TTLCache(cache_seconds)
        self._touching: set[str] = set()

    async def caller(
        self,
        token: str,
        workspace_header: str | None,
        request_id: str,
        rates: RateReport | None = None,
    ) -> Caller:
        parsed = keys.parse(self.server_secret, token)
        if parsed is None:
            raise InvalidApiKey(INVALID_KEY)
        owner = await self._owner(parsed.key_id)
        now = datetime.now(UTC)
        if owner is None or not _usable(owner, parsed.secret, now):
            raise InvalidApiKey(INVALID_KEY)
        access = await self._workspace(owner, workspace_header)
        self._touch(owner, now)
        return Caller(
            request_id=request_id,
            user_id=owner.user_id,
            key_id=owner.key_id,
            workspace_id=access.workspace_id,
            plan=access.plan,
            daily_message_limit=access.daily_message_limit,
            daily_image_limit=access.daily_image_limit,
            time_zone=access.time_zone,
            pool=access.pool,
            own_keys=await self._own_keys(owner.user_id),
            rpm_limit=_own_or_default(owner.rpm_limit, access.key_rpm_limit),
            tpm_limit=_own_or_default(owner.tpm_limit, access.key_tpm_limit),
            rates=rates,
        )

    async def _own_keys(self, user_id: str) -> dict[str, str]:
        """The user's BYOK keys, unsealed (a key that no longer opens is ignored)."""

        async def load() -> dict[str, str]:
            async with self.engine.connect() as conn:
                sealed = await provider_keys.sealed_for(conn, user_id)
            found = {}
            for provider, token in sealed.items():
                try:
                    found[provider] = sealing.unseal(self.server_secret, token, user_id)
                except sealing.Unsealable:
                    continue
            return found

        return await self.user_keys.get_or_load(user_id, load) or {}

    async def _owner(self, key_id: str) -> accounts.KeyOwner | None:
        async def load() -> accounts.KeyOwner | None:
            async with self.engine.connect() as conn:
                return await accounts.key_owner(conn, key_id)

        return await self.owners.get_or_load(key_id, load)

    async def _workspace(
        self, owner: accounts.KeyOwner, header: str | None
    ) -> accounts.WorkspaceAccess:
        workspace_id = header or owner.current_workspace_id
        if not workspace_id:
            raise PermissionDenied("Your user has no workspace yet.", code="no_workspace")

        async def load() -> accounts.WorkspaceAccess | None:
            async with self.engine.connect() as conn:
                return await accounts.workspace_access(conn, owner.user_id, workspace_id)

        access = await self.access.get_or_load((owner.user_id, workspace_id), load)
        if access is None:
            # The same answer whether the workspace exists or not.
            raise PermissionDenied(
                "You do not have access to this workspace.",
                param="x-writingmate-workspace",
                code="workspace_forbidden",
            )
        return access

    def _touch(self, owner: accounts.KeyOwner, now: datetime) -> None:
        """Record last use, at most once a minute per key (not a write per request), in the
        background: no request waits for it."""
        if owner.last_used_at is not None and now - _aware(owner.last_used_at) < TOUCH_EVERY:
            return
        if owner.key_id in self._touching:
            return
        self._touching.add(owner.key_id)
        # Seen as used now by the requests that follow, so that they do not touch it again.
        self.owners.put(owner.key_id, dataclasses.replace(owner, last_used_at=now))
        task = asyncio.get_running_loop().create_task(self._touched(owner.key_id, now))
        task.add_done_callback(lambda _task: self._touching.discard(owner.key_id))

    async def _touched(self, key_id: str, now: datetime) -> None:
        try:
            async with self.engine.begin() as conn:
                await accounts.touch_key(conn, key_id, now)
        except Exception:  # noqa: BLE001 - a missed "last used" is retried a minute later
            log.warning("could not record when key %s was last used", key_id, exc_info=True)
