"""Rate-limit buckets in Redis (`REDIS_URL`), for gateways that share one Redis.

Each decision is one Lua script, which Redis runs atomically, with the arithmetic of
domain/ratelimit.py on Redis's own clock (`TIME`), so every worker and host judges by one
clock. A bucket is a hash {b: backlog, t: at_ms} that expires once it has drained (an absent
bucket is an empty one). Lua numbers are doubles: exact for every backlog up to MAX_LIMIT, and
an `elapsed * limit` too large to be exact only ever drains a bucket completely.
"""

from __future__ import annotations

from redis.asyncio import Redis

from domain.ratelimit import (
    HORIZON_MS,
    PERIOD_MS,
    Bucket,
    Decision,
    Reservation,
    capacity,
    give_back_amounts,
)

PREFIX = "wmgw:ratelimit:"

_COMMON = f"""
local function clock(pinned)
  if pinned ~= '' then return tonumber(pinned) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drain(backlog, at, now, limit)
  local elapsed = math.max(0, math.min(now - at, {HORIZON_MS}))
  return math.max(0, backlog - elapsed * limit), math.max(at, now)
end
local function load(key, now, limit)
  local saved = redis.call('HMGET', key, 'b', 't')
  return drain(tonumber(saved[1]) or 0, tonumber(saved[2]) or now, now, limit)
end
local function save(key, backlog, at, limit)
  if backlog <= 0 then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 'b', string.format('%.0f', backlog), 't', string.format('%.0f', at))
  -- Kept a minute past draining, for a give-back of a reservation still running.
  redis.call('PEXPIRE', key, math.ceil(backlog / limit) + {PERIOD_MS})
end
"""

# KEYS: bucket. ARGV: limit, cost, capacity, now ('' for Redis's clock).
# Returns {admitted, backlog, at_ms}.
TAKE = (
    _COMMON
    + """
local limit, cost, room = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = clock(ARGV[4])
local backlog, at = load(KEYS[1], now, limit)
if backlog + cost > room then
  return {0, backlog, at}
end
save(KEYS[1], backlog + cost, at, limit)
return {1, backlog + cost, at}
"""
)

# KEYS: bucket. ARGV: limit, own backlog, own at_ms, unused, extra, now, own units.
GIVE_BACK = (
    _COMMON
    + """
local limit = tonumber(ARGV[1])
local now = clock(ARGV[6])
local backlog, at = load(KEYS[1], now, limit)
local own = math.min(
  (drain(tonumber(ARGV[2]), tonumber(ARGV[3]), now, limit)),
  (drain(tonumber(ARGV[7]), tonumber(ARGV[3]), now, limit)))
local credit = math.min(tonumber(ARGV[4]), own)
save(KEYS[1], math.max(0, backlog - credit) + tonumber(ARGV[5]), at, limit)
return 1
"""
)


def bucket_key(key_id: str, unit: str) -> str:
    return f"{PREFIX}{key_id}:{unit}"


class RedisBuckets:
    def __init__(self, url: str) -> None:
        self.client: Redis = Redis.from_url(url)
        self._take = self.client.register_script(TAKE)
        self._give_back = self.client.register_script(GIVE_BACK)

    async def take(
        self, key_id: str, unit: str, limit: int, cost: int, now_ms: int | None = None
    ) -> Decision:
        args: list[int | str] = [limit, cost * PERIOD_MS, capacity(limit), _pinned(now_ms)]
        admitted, backlog, at_ms = await self._take(keys=[bucket_key(key_id, unit)], args=args)
        return Decision(bool(admitted), Bucket(int(backlog), int(at_ms)))

    async def give_back(
        self,
        key_id: str,
        unit: str,
        limit: int,
        reservation: Reservation,
        used: int,
        now_ms: int | None = None,
    ) -> None:
        unused, extra = give_back_amounts(reservation.units, used)
        if not unused and not extra:
            return
        own = reservation.bucket
        units = reservation.units * PERIOD_MS
        args: list[int | str] = [
            limit, own.backlog, own.at_ms, unused, extra, _pinned(now_ms), units
        ]  # fmt: skip
        await self._give_back(keys=[bucket_key(key_id, unit)], args=args)

    async def aclose(self) -> None:
        await self.client.aclose()


def _pinned(now_ms: int | None) -> str:
    return "" if now_ms is None else str(now_ms)
