"""Circuit breakers in Redis (`REDIS_URL`): the rules of domain/breaker.py as Lua scripts,
which Redis runs atomically. A breaker is a hash {f: failures, o: open_until, p: probe_until};
an absent one is closed. Times are epoch milliseconds from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from domain.breaker import BreakerSettings, BreakerState

PREFIX = "wmgw:breaker:"
KEEP_MS = 24 * 3600 * 1000  # an idle breaker is forgotten (closed) after a day

_LOAD = """
local saved = redis.call('HMGET', KEYS[1], 'f', 'o', 'p')
local f, o, p = tonumber(saved[1]) or 0, tonumber(saved[2]) or 0, tonumber(saved[3]) or 0
local now = tonumber(ARGV[1])
"""
_SAVE = f"""
redis.call('HSET', KEYS[1], 'f', f, 'o', o, 'p', p)
redis.call('PEXPIRE', KEYS[1], {KEEP_MS})
return {{f, o, p}}
"""
# ARGV: now, threshold, cool-down ms
FAIL = (
    _LOAD
    + """
local half_open = o > 0 and o <= now
f = f + 1
if half_open or f >= tonumber(ARGV[2]) then o = now + tonumber(ARGV[3]); p = 0 end
"""
    + _SAVE
)
# ARGV: now
SUCCEED = (
    _LOAD
    + """
if o > now or (f == 0 and o == 0) then return false end
f, o, p = 0, 0, 0
"""
    + _SAVE
)
# ARGV: now, probe ms
PROBE = (
    _LOAD
    + """
if not (o > 0 and o <= now and p <= now) then return false end
p = now + tonumber(ARGV[2])
"""
    + _SAVE
)


def _state(values: Sequence[object]) -> BreakerState:
    failures, open_until, probe_until = (int(v) for v in values)  # type: ignore[call-overload]
    return BreakerState(failures, open_until, probe_until)


class RedisBreakers:
    def __init__(self, url: str) -> None:
        self.client: Redis = Redis.from_url(url)
        self._fail = self.client.register_script(FAIL)
        self._succeed = self.client.register_script(SUCCEED)
        self._probe = self.client.register_script(PROBE)

    async def record_failure(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState:
        args = [now_ms, settings.failures, int(settings.cool_down * 1000)]
        return _state(await self._fail(keys=[PREFIX + name], args=args))

    async def record_success(self, name: str, now_ms: int) -> BreakerState | None:
        values = await self._succeed(keys=[PREFIX + name], args=[now_ms])
        return None if not values else _state(values)

    async def claim_probe(
        self, name: str, now_ms: int, settings: BreakerSettings
    ) -> BreakerState | None:
        values = await self._probe(keys=[PREFIX + name], args=[now_ms, int(settings.probe * 1000)])
        return None if not values else _state(values)

    async def states(self, names: Sequence[str]) -> dict[str, BreakerState]:
        found = {}
        for name in names:
            values = await self.client.hmget(PREFIX + name, ["f", "o", "p"])
            if values[0] is not None:
                found[name] = _state([v or 0 for v in values])
        return found

    async def aclose(self) -> None:
        await self.client.aclose()
