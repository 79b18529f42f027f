"""Sign-in attempts per minute, per email and per client address, in the same buckets as the
keys' rate limits (the database, or Redis with REDIS_URL: shared by every worker). Counted
before the password is checked, so refused attempts cost no argon2 work."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from domain.errors import RateLimited
from domain.ratelimit import duration, state
from gateway.rate_limits import Buckets

UNIT = "console_sign_in"


def _subject(what: str, value: str) -> str:
    # The buckets' key column holds 40 characters; a digest also keeps emails out of it.
    return f"{what}:{hashlib.sha256(value.lower().encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class SignInLimits:
    buckets: Buckets
    per_email: int = 10
    per_address: int = 60

    async def count(self, email: str, address: str) -> None:
        """One attempt for the email and the address; a 429 when either is over its limit."""
        for subject, limit in (
            (_subject("e", email), self.per_email),
            (_subject("a", address), self.per_address),
        ):
            decision = await self.buckets.take(subject, UNIT, limit, 1)
            if not decision.admitted:
                wait = state(limit, decision, 1).retry_after_ms or 60_000
                raise RateLimited(
                    f"Too many sign-in attempts. Please try again in {duration(wait)}.",
                    code="sign_in_rate_limited",
                    headers={"retry-after": str(math.ceil(wait / 1000))},
                )
