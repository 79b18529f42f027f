"""Requests and tokens per minute per key, the same across every worker and host.

Decisions are domain/ratelimit.py's; the buckets live in the database (on a writer thread,
storage/rate_limits.py) or in Redis when `REDIS_URL` is set (storage/redis_buckets.py).
Every decision is recorded in the request's RateReport for the x-ratelimit-* headers. A key
without limits costs nothing here: no statement, no round trip.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

from domain.errors import RateLimited
from domain.ratelimit import Bucket, Decision, RateState, Reservation, duration, state
from gateway.auth import Caller
from gateway.settings import Settings
from storage.group_commit import GroupCommit
from storage.rate_limits import DatabaseBuckets
from storage.redis_buckets import RedisBuckets

REQUESTS = "requests"
TOKENS = "tokens"


class Buckets(Protocol):
    async def take(self, key_id: str, unit: str, limit: int, cost: int) -> Decision: ...

    async def give_back(
        self, key_id: str, unit: str, limit: int, reservation: Reservation, used: int
    ) -> None: ...

    async def aclose(self) -> None: ...


class RateLimits:
    def __init__(self, buckets: Buckets) -> None:
        self.buckets = buckets

    async def check_request(self, caller: Caller) -> RateState | None:
        """Count one request against the key's requests per minute (429 when over). A key
        with a token limit also learns where its tokens stand, for its headers: a take of
        none, which on the database joins the same batch."""
        if caller.tpm_limit is None:
            if caller.rpm_limit is None:
                return None
            rate, _ = await self._take(caller, REQUESTS, caller.rpm_limit, 1)
            return rate
        if caller.rpm_limit is None:
            await self._peek_tokens(caller, caller.tpm_limit)
            return None
        taken, peeked = await asyncio.gather(
            self._take(caller, REQUESTS, caller.rpm_limit, 1),
            self._peek_tokens(caller, caller.tpm_limit),
            return_exceptions=True,
        )
        for outcome in (taken, peeked):
            if isinstance(outcome, BaseException):
                raise outcome
        return taken[0]  # type: ignore[index]

    async def reserve_tokens(self, caller: Caller, tokens: int) -> Reservation | None:
        """Reserve an estimate of the request's tokens before the upstream call (429 when
        they do not fit); `settle_tokens` corrects it to the real count."""
        if caller.tpm_limit is None:
            return None
        _, bucket = await self._take(caller, TOKENS, caller.tpm_limit, tokens)
        return Reservation(tokens, bucket)

    async def settle_tokens(
        self, caller: Caller, reservation: Reservation | None, used: int
    ) -> None:
        if reservation is None or caller.tpm_limit is None:
            return
        await self.buckets.give_back(caller.key_id, TOKENS, caller.tpm_limit, reservation, used)

    async def _take(
        self, caller: Caller, unit: str, limit: int, cost: int
    ) -> tuple[RateState, Bucket]:
        decision = await self.buckets.take(caller.key_id, unit, limit, cost)
        rate = state(limit, decision, cost)
        if caller.rates is not None:
            setattr(caller.rates, unit, rate)
        if not decision.admitted:
            raise refusal(caller.key_id, unit, rate, cost)
        return rate, decision.bucket

    async def _peek_tokens(self, caller: Caller, limit: int) -> None:
        decision = await self.buckets.take(caller.key_id, TOKENS, limit, 0)
        if caller.rates is not None:  # never refused: a debt past the limit just shows 0 left
            caller.rates.tokens = state(limit, Decision(True, decision.bucket), 0)

    async def aclose(self) -> None:
        await self.buckets.aclose()


def refusal(key_id: str, unit: str, rate: RateState, cost: int) -> RateLimited:
    """OpenAI's 429 for a rate limit, with the wait the official SDKs honour."""
    per_minute = "requests per min (RPM)" if unit == REQUESTS else "tokens per min (TPM)"
    if rate.retry_after_ms is None:
        return RateLimited(
            f"Request too large for key {key_id} on {per_minute}: Limit {rate.limit}, "
            f"Requested {cost}. Send fewer tokens or ask for fewer output tokens.",
            headers={"x-should-retry": "false"},
        )
    wait = rate.retry_after_ms
    return RateLimited(
        f"Rate limit reached for key {key_id} on {per_minute}: Limit {rate.limit}, "
        f"Remaining {rate.remaining}, Requested {cost}. Please try again in {duration(wait)}.",
        headers={"retry-after": str(math.ceil(wait / 1000)), "retry-after-ms": str(wait)},
    )


def rate_limits_for(settings: Settings, writer: GroupCommit) -> RateLimits:
    """Buckets in Redis when `REDIS_URL` is set, else in the database."""
    if settings.redis_url:
        return RateLimits(RedisBuckets(settings.redis_url))
    return RateLimits(DatabaseBuckets.for_database(settings.database_url, writer))
