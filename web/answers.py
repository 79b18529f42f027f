"""The HTTP answer of one admitted request: the only place that runs it, watches its client,
ends it and settles it.

A `MeteredAnswer` is returned by a handler once the request is admitted. When the server calls
it, it runs the request (`MeteredRun`), either as one body or as an SSE stream, while watching
the client: a client that leaves cancels the upstream call, and the server's graceful deadline
stops it too (`Ticket.stop`). However it ends, the request is settled once, before the last
bytes go out, so a client that saw the end finds its ledger row written:

    answered        the body, or the stream's last frames, with the receipt's headers
    failed first    a JSON error with its status, the request charged nothing
    failed later    the stream's error event, charged for what it produced
    client left     nothing more to send, charged for what was produced
    server stopped  503 (or the stream's error event), charged for what was delivered

Streams: one task runs the request and queues frames; this response's own task sends every
frame ready at that moment in one write (a fast upstream's events, or a busy gateway's, leave
together instead of one send each), and the producer stops reading ahead once MAX_BUFFERED
bytes wait for a slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import cast

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from domain import charges
from domain.charges import Ending
from domain.errors import GatewayError, InternalError, UpstreamUnavailable
from gateway.failures import unexpected, upstream_failed
from gateway.runs import Answer, MeteredRun, StreamedRun
from gateway.tickets import Receipt, Ticket
from web.exchanges import EXCHANGE
from web.receipts import admission_headers, receipt_headers

MAX_BUFFERED = 1 << 18
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_MEDIA_TYPE = b"text/event-stream; charset=utf-8"
LISTEN_AFTER_SECONDS = 0.05  # a client that leaves is noticed within this much more
KEEPS_ANSWER = "wmgw.keeps_answer"  # set in the scope when the answer is kept for retries


SHUTTING_DOWN = UpstreamUnavailable(
    "The gateway is restarting and stopped this request; send it again.",
    code="server_shutting_down",
    headers={"x-should-retry": "true"},
)


class _Watch:
    """Cancels the request's work when its client leaves or the server stops it: once, as
    asyncio cancels (the work's own clean-up, such as closing the upstream call, still runs;
    a cancel scope would cancel every await of that clean-up again)."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        self.client_left = False
        self.deadline: asyncio.Timeout | None = None
        self._start: asyncio.TimerHandle | None = None
        self._listener: asyncio.Task[None] | None = None

    def guard(self, deadline: asyncio.Timeout, receive: Receive, *, listen: bool = True) -> None:
        self.deadline = deadline
        self.ticket.on_stop(self.cancel)
        if listen:
            # Most requests end within this delay: they never pay for a listening task.
            loop = asyncio.get_running_loop()
            self._start = loop.call_later(LISTEN_AFTER_SECONDS, self._start_listening, receive)

    def _start_listening(self, receive: Receive) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._listen(receive))

    async def _listen(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_left = True
        self.cancel()

    def cancel(self) -> None:
        if self.deadline is not None and self.deadline.when() is None:
            with contextlib.suppress(RuntimeError):  # the guarded block has already ended
                self.deadline.reschedule(asyncio.get_running_loop().time())

    def ended(self) -> bool:
        """Leave the guarded block: whether it was cancelled (by us)."""
        cancelled = self.deadline is not None and self.deadline.expired()
        self.deadline = None
        return cancelled

    def release(self) -> None:
        if self._start is not None:
            self._start.cancel()
        if self._listener is not None:
            self._listener.cancel()

    @property
    def stopped(self) -> bool:
        return self.ticket.stop_reason is not None and not self.client_left


async def _ending(
    run: MeteredRun, watch: _Watch, answer: Answer | None, error: GatewayError | None, bug: bool
) -> Ending:
    usage = await run.usage()
    delivered = run.delivered()
    if watch.client_left:
        return Ending(charges.CLIENT_DISCONNECTED, 499, usage, delivered)
    if watch.stopped:
        return Ending(charges.SHUTDOWN, 503, usage, delivered)
    if bug:
        return Ending(charges.GATEWAY_ERROR, 500, usage, delivered)
    if error is not None:
        status = charges.INTERRUPTED if delivered else charges.UPSTREAM_ERROR
        return Ending(status, error.status, usage, delivered)
    assert answer is not None or run.streamed
    images = answer.images if answer else 0
    seconds = answer.video_seconds if answer else 0
    return Ending(charges.COMPLETED, 200, usage, True, images=images, video_seconds=seconds)


def _internal(ticket: Ticket, exc: Exception) -> InternalError:
    return unexpected(ticket.request_id, exc)


async def send_error(send: Send, error: GatewayError, headers: Mapping[str, str]) -> None:
    body = orjson.dumps(error.body())
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in {**headers, **error.headers}.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class MeteredAnswer(Response):
    def __init__(self, run: MeteredRun, max_buffered: int = MAX_BUFFERED) -> None:
        self.run = run
        self.max_buffered = max_buffered
        self.status_code = 200
        self.background = None
        self.init_headers({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = scope.get(EXCHANGE)  # for the request's log line and metrics
        if exchange is not None:
            exchange.ticket, exchange.streaming = self.run.ticket, self.run.streamed
        if self.run.streamed:
            stream = _Stream(cast(StreamedRun, self.run), self.max_buffered)
            await stream.answer(receive, send)
        else:
            # A request sent with an Idempotency-Key runs to its end even if its client
            # leaves: its answer is kept for the retry that the key announces.
            await self._whole(receive, send, listen=not scope.get(KEEPS_ANSWER))

    async def _whole(self, receive: Receive, send: Send, *, listen: bool) -> None:
        run, ticket = self.run, self.run.ticket
        watch = _Watch(ticket)
        answer, error, bug = None, None, False
        try:
            async with asyncio.timeout(None) as deadline:
                watch.guard(deadline, receive, listen=listen)
                try:
                    answer = await run.complete()
                except GatewayError as exc:
                    error = ticket.failure = upstream_failed(ticket.request_id, exc)
                except Exception as exc:
                    error, bug = _internal(ticket, exc), True
        except TimeoutError:
            if not watch.ended():
                raise
        watch.release()
        ending = await _ending(run, watch, answer, error, bug)
        receipt = await ticket.settle(ending)
        headers = receipt_headers(ticket, receipt)
        if watch.client_left:
            return
        if watch.stopped:
            error = SHUTTING_DOWN
        if error is not None or answer is None:
            await send_error(send, error or SHUTTING_DOWN, headers)
            return
        await _send_answer(send, answer, {**headers, **answer.headers})


async def _send_answer(send: Send, answer: Answer, headers: Mapping[str, str]) -> None:
    raw = [
        (b"content-type", answer.media_type.encode()),
        (b"content-length", str(len(answer.content)).encode()),
        *((k.encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": answer.content})


class _Stream:
    def __init__(self, run: StreamedRun, max_buffered: int) -> None:
        self.run = run
        self.max_buffered = max_buffered
        self.watch = _Watch(run.ticket)
        self.pending: list[bytes] = []
        self.buffered = 0
        self.ready = asyncio.Event()
        self.drained = asyncio.Event()
        self.opened = False
        self.failure: GatewayError | None = None
        self.receipt: Receipt | None = None

    async def answer(self, receive: Receive, send: Send) -> None:
        producer = asyncio.get_running_loop().create_task(self._produce(receive))
        try:
            await self._send_all(producer, send)
        finally:
            self.watch.release()
            if not producer.done():
                # The server cancelled us (past its graceful timeout): stop the producer, which
                # still settles the request.
                self.watch.client_left = True
                self.watch.cancel()
                await asyncio.gather(producer, return_exceptions=True)

    async def _send_all(self, producer: asyncio.Task[None], send: Send) -> None:
        started = False
        while not (producer.done() and not self.pending):
            await self.ready.wait()
            self.ready.clear()
            if self.watch.client_left:
                break
            if not started and self.opened:
                await self._start(send)
                started = True
            if started and self.pending:
                await send({"type": "http.response.body", "body": self._take(), "more_body": True})
        producer.result()
        if self.watch.client_left:
            return
        if not started:
            ticket = self.run.ticket
            receipt = ticket.receipt or Receipt(0, 0, {})
            await send_error(send, self.failure or SHUTTING_DOWN, receipt_headers(ticket, receipt))
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _start(self, send: Send) -> None:
        headers = {**SSE_HEADERS, **admission_headers(self.run.ticket)}
        raw = [(b"content-type", SSE_MEDIA_TYPE)]
        raw += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": raw})

    def _take(self) -> bytes:
        batch = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        self.buffered = 0
        self.drained.set()
        return batch

    async def _push(self, frame: bytes) -> None:
        self.pending.append(frame)
        self.buffered += len(frame)
        self.ready.set()
        if self.buffered > self.max_buffered:
            self.drained.clear()
            await self.drained.wait()

    async def _produce(self, receive: Receive) -> None:
        run, ticket = self.run, self.run.ticket
        error, bug = None, False
        try:
            try:
                async with asyncio.timeout(None) as deadline:
                    self.watch.guard(deadline, receive)
                    try:
                        await run.open()
                        ticket.first_output = time.monotonic()
                        self.opened = True
                        self.ready.set()
                        async for frame in run.frames():
                            await self._push(frame)
                    except GatewayError as exc:
                        error = ticket.failure = upstream_failed(ticket.request_id, exc)
                    except Exception as exc:
                        error, bug = _internal(ticket, exc), True
            except TimeoutError:
                if not self.watch.ended():
                    raise
            ending = await _ending(run, self.watch, None, error, bug)
            await ticket.settle(ending)
            if not self.opened or self.watch.client_left:
                self.failure = SHUTTING_DOWN if self.watch.stopped else error
                return
            final = SHUTTING_DOWN if self.watch.stopped else error
            for frame in await run.ending_frames(ending, final):
                self.pending.append(frame)
        finally:
            self.ready.set()
