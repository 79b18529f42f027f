"""Requests under an `Idempotency-Key`: the first runs and its answer is kept; the others
replay that answer, wait for it while it runs (on any process), or are refused with a 409.

The runner's answer is written before its last byte leaves, so a client that saw the whole
answer and retries finds it kept. What happens to the key when the request ends:

- a success, or a client error the same request would get again: kept for replays;
- a stream its client left before the end: marked interrupted (it was charged for what it
  produced, so it must neither run again nor pass for complete);
- anything else (a server error, 408, 409, 429, a client gone before any answer): the key is
  let go, so that a retry runs the request again (a failed request was not charged).

A process that dies while running a key stops renewing its lease
(web/idempotency_heartbeat.py); once the lease runs out, a retry takes the key over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.idempotency import (
    DONE,
    INTERRUPTED,
    REPLAYED_HEADER,
    TOO_LARGE,
    Seen,
    Verdict,
    is_replayable,
    refusal,
    verdict,
)
from gateway.failures import unexpected
from gateway.settings import IdempotencySettings
from storage import idempotency as store
from storage.idempotency import Answer, Attempt
from web.answers import KEEPS_ANSWER
from web.middleware import send_error
from web.recording import ClientWatch, Header, Recording, replaying, send_answer

log = logging.getLogger("wmgw.idempotency")
FIRST_PAUSE = 0.05  # seconds between looks at a key another request runs, doubling...
LONGEST_PAUSE = 0.5  # ...up to this
# Stamped per response by the middlewares around this one, or meaningless in a replay.
_NOT_REPLAYED = frozenset({"x-request-id", "date", "server"})
UNAVAILABLE = " Its Idempotency-Key could not be looked up; retry it."
Write = Callable[[AsyncConnection], Awaitable[Any]]


def process_owner() -> str:
    """This process, as a key's `owner` (its pid first, for operators and tests)."""
    return f"{os.getpid()}:{secrets.token_hex(4)}:{socket.gethostname()}"[:64]


class IdempotentRuns:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: IdempotencySettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.owner = process_owner()
        self.running: dict[tuple[str, str], Attempt] = {}  # whose leases the heartbeat renews
        self._writes: set[asyncio.Task[None]] = set()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def serve(
        self,
        attempt: Attempt,
        body: bytes,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer `attempt`'s request from its key, or run it under the key."""
        watch = ClientWatch(receive)
        try:
            runs = await self._answer_or_claim(attempt, watch, send)
        except SQLAlchemyError as exc:  # the database failed: still an error in OpenAI's envelope
            await send_error(send, unexpected(attempt.request_id, exc, UNAVAILABLE))
            return
        finally:
            await watch.stop()
        if runs:
            await self._run(attempt, app, scope, replaying(body, receive), send)

    async def _answer_or_claim(self, attempt: Attempt, watch: ClientWatch, send: Send) -> bool:
        """True once `attempt` holds its key; False when it was answered from the key (or
        refused, or its client left while it waited)."""
        seen = await self._claim(attempt)
        pause = FIRST_PAUSE
        while seen is not None:
            outcome = verdict(seen, attempt.fingerprint, self.now_ms())
            if outcome is Verdict.WAIT:
                if not await watch.pause(pause):
                    return False  # the client left: nobody to answer
                pause = min(pause * 2, LONGEST_PAUSE)
                seen = await self._look(attempt)
            elif outcome is Verdict.TAKE:
                seen = await self._claim(attempt)
            elif outcome is Verdict.REPLAY:
                if await self._replay(attempt, send):
                    return False
                seen = await self._claim(attempt)  # expired and deleted meanwhile
            else:
                await send_error(send, refusal(outcome))
                return False
        return True

    async def _claim(self, attempt: Attempt) -> Seen | None:
        lease_ms = int(self.settings.lease_seconds * 1000)
        ttl_ms = self.settings.ttl_seconds * 1000
        async with self.engine.begin() as conn:
            return await store.claim(conn, attempt, self.now_ms(), lease_ms, ttl_ms)

    async def _look(self, attempt: Attempt) -> Seen | None:
        """The key's row now; a gone row is claimed at once."""
        async with self.engine.connect() as conn:
            seen = await store.peek(conn, attempt.key_id, attempt.idempotency_key)
        return seen if seen is not None else await self._claim(attempt)

    async def _replay(self, attempt: Attempt, send: Send) -> bool:
        async with self.engine.connect() as conn:
            kept = await store.answer(conn, attempt.key_id, attempt.idempotency_key)
        if kept is None or kept.body is None:
            return False
        headers = [*kept.headers, (REPLAYED_HEADER, "true")]
        await send_answer(send, kept.status, headers, kept.body)
        return True

    async def _run(
        self, attempt: Attempt, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        key = (attempt.key_id, attempt.idempotency_key)
        self.running[key] = attempt
        recording = Recording(send, self.settings.max_response_bytes, partial(self._ended, attempt))
        try:
            await app({**scope, KEEPS_ANSWER: True}, receive, recording.send)
        finally:
            if not recording.complete:
                await self._write(partial(_unfinished, attempt, recording.status))
            if self.running.get(key) is attempt:
                del self.running[key]

    async def _ended(self, attempt: Attempt, recording: Recording) -> None:
        """The answer is complete: keep it for the key's retries, or let the key go."""
        assert recording.status is not None
        if not is_replayable(recording.status):
            await self._write(partial(store.forget, attempt=attempt))
            return
        body = recording.body
        answer = Answer(recording.status, replayed_headers(recording.headers), body)
        state = DONE if body is not None else TOO_LARGE
        await self._write(partial(store.finish, attempt=attempt, state=state, answer=answer))

    async def _write(self, write: Write) -> None:
        """Run `write` to its end even if this request is cancelled meanwhile; a failure is
        logged, and the key's lease then runs out (a retry runs the request again)."""
        task = asyncio.get_running_loop().create_task(self._write_now(write))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        await asyncio.shield(task)

    async def _write_now(self, write: Write) -> None:
        try:
            async with self.engine.begin() as conn:
                await write(conn)
        except Exception:  # noqa: BLE001 - the answer still reaches the client
            log.exception("could not record an idempotency key's outcome")

    async def renew_leases(self) -> None:
        """Keep the keys this process runs its own (the heartbeat calls this)."""
        if not self.running:
            return
        until_ms = self.now_ms() + int(self.settings.lease_seconds * 1000)
        async with self.engine.begin() as conn:
            await store.renew(conn, self.owner, list(self.running), until_ms)

    async def purge_expired(self) -> int:
        async with self.engine.begin() as conn:
            return await store.purge(conn, self.now_ms())

    async def drain(self) -> None:
        """Wait for the outcomes still being written (at shutdown)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


def replayed_headers(headers: list[Header]) -> list[Header]:
    return [(name, value) for name, value in headers if name.lower() not in _NOT_REPLAYED]


async def _unfinished(attempt: Attempt, status: int | None, conn: AsyncConnection) -> None:
    """The request ended without a complete answer. A success cut short is a stream cut off
    (its client left, mostly): it was charged for what it produced, so it is marked, never
    run again."""
    if status is not None and 200 <= status < 300:
        await store.finish(conn, attempt, INTERRUPTED, Answer(status, [], None))
    else:
        await store.forget(conn, attempt)
