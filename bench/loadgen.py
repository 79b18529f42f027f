"""A bounded HTTP/1.1 load generator for bench/run.py, run in its own process so its CPU is never
counted as the gateway's.

Raw asyncio protocols on uvloop with httptools' response parser (the C parser uvicorn uses):
much cheaper per request than an httpx client, which matters on a 2-core machine where the load
generator competes with the server for CPU.

    python bench/loadgen.py SPEC_JSON        # prints one JSON object with the results

Modes (SPEC_JSON["mode"]):
  closed  `concurrency` keep-alive connections, each sending its next request as soon as the
          previous answer is complete; `warmup` seconds unrecorded, then `duration` seconds
          recorded (or `max_requests`), then in-flight requests finish. Latency is request
          written -> response complete; TTFB is request written -> first body byte.
  hold    `streams` connections opened first, then one streaming request on each at once;
          reports how many streams were open at the same time, how many completed, and the
          watched process's RSS peak while they were open.

Every request has a hard timeout, and the whole run has one; the process always ends by itself.
Gateway CPU is read from /proc/<pid>/stat (utime + stime of all its threads) right before and
right after the recorded phase, RSS from /proc/<pid>/status (VmRSS) every 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

now = time.perf_counter
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- /proc readers


def cpu_times(pid: int) -> tuple[float, float] | None:
    """(utime, stime) of the whole process (every thread), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # after "pid (comm)": state=0 ... utime=11, stime=12
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the whole process (every thread), in seconds."""
    times = cpu_times(pid)
    return None if times is None else sum(times)


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat", "rb") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Probe:
    """CPU of the watched processes, of this process and of the machine over one phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start: dict[str, Any] = {}

    def begin(self) -> None:
        self.start = {
            "pids": {name: cpu_times(pid) for name, pid in self.pids.items()},
            "self": self_cpu(),
            "machine": machine_ticks(),
        }

    def end(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cpu_s": {}, "sys_s": {}}
        for name, pid in self.pids.items():
            before, after = self.start["pids"][name], cpu_times(pid)
            if before is None or after is None:
                out["cpu_s"][name] = out["sys_s"][name] = None
            else:
                out["cpu_s"][name] = sum(after) - sum(before)
                out["sys_s"][name] = after[1] - before[1]
        out["cpu_s"]["loadgen"] = self_cpu() - self.start["self"]
        busy0, total0 = self.start["machine"]
        busy1, total1 = machine_ticks()
        out["machine_busy"] = (busy1 - busy0) / max(1, total1 - total0)
        return out


class RssSampler:
    def __init__(self, pid: int | None, every: float = 0.05) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0
        self.first: int | None = None
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.pid:
            self.first = rss_kb(self.pid)
            self.peak = self.first or 0
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            value = rss_kb(self.pid)
            if value is not None and value > self.peak:
                self.peak = value
            await asyncio.sleep(self.every)

    def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            value = rss_kb(self.pid)
            if value is not None and value > self.peak:
                self.peak = value
        return {
            "rss_start_kb": self.first,
            "rss_peak_kb": self.peak or None,
            "rss_end_kb": rss_kb(self.pid) if self.pid else None,
        }


# --------------------------------------------------------------------------- client


class Response:
    __slots__ = ("status", "started", "first", "done", "body", "keep_alive")

    def __init__(self, started: float) -> None:
        self.status = 0
        self.started = started
        self.first = 0.0
        self.done = 0.0
        self.body: list[bytes] = []
        self.keep_alive = True


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, on_first: Callable[[], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.response: Response | None = None
        self.closed = False
        self.on_first = on_first

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed by server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_headers_complete(self) -> None:
        if self.response is not None:
            self.response.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        response = self.response
        if response is None:
            return
        if not response.first:
            response.first = now()
            if self.on_first is not None:
                self.on_first()
        response.body.append(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is None:
            return
        response.done = now()
        if not response.first:
            response.first = response.done
        response.keep_alive = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    async def send(self, payload: bytes, timeout: float) -> Response:
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        self.response = Response(now())
        self.transport.write(payload)
        timer = loop.call_later(timeout, self._timeout, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _timeout(self, waiter: asyncio.Future) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError("request timed out"))
            self.close()


async def connect(host: str, port: int, on_first: Callable[[], None] | None = None) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: Conn(on_first), host, port)
    sock = conn.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def build_request(spec: dict[str, Any]) -> bytes:
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    lines = [
        f"POST {spec['path']} HTTP/1.1",
        f"Host: {spec['host']}:{spec['port']}",
        "Content-Type: application/json",
        "Accept: " + ("text/event-stream" if spec["body"].get("stream") else "application/json"),
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in (spec.get("headers") or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def check(response: Response, stream: bool, expect_chunks: int) -> str | None:
    """None when the answer is a complete, successful one; else what was wrong."""
    body = b"".join(response.body)
    if response.status != 200:
        return f"HTTP {response.status}: {body[:200]!r}"
    if stream:
        if not body.rstrip().endswith(b"data: [DONE]"):
            return f"stream not ended by [DONE]: {body[-120:]!r}"
        got = body.count(b'"content":"')
        if got < expect_chunks:
            return f"stream had {got} content chunks, expected {expect_chunks}"
    elif b'"chat.completion"' not in body:
        return f"not a chat.completion: {body[:200]!r}"
    return None


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(values: list[float]) -> dict[str, float | None]:
    values = sorted(values)
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    return {
        "p50": ms(percentile(values, 50)),
        "p90": ms(percentile(values, 90)),
        "p99": ms(percentile(values, 99)),
        "max": ms(values[-1] if values else None),
        "mean": ms(sum(values) / len(values) if values else None),
    }


# --------------------------------------------------------------------------- closed loop


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    concurrency = int(spec["concurrency"])
    payload = build_request(spec)
    stream = bool(spec["body"].get("stream"))
    expect = int(spec.get("expect_chunks", 0)) if stream else 0
    timeout = float(spec.get("timeout", 30.0))
    max_requests = int(spec.get("max_requests", 10**9))
    pids = {k: v for k, v in (spec.get("watch_pids") or {}).items() if v}
    conns = [await connect(host, port) for _ in range(concurrency)]

    latencies: list[float] = []
    ttfbs: list[float] = []
    errors: list[str] = []
    state = {"issued": 0, "warm": 0}

    async def worker(slot: int, deadline: float, record: bool) -> None:
        while now() < deadline and (not record or state["issued"] < max_requests):
            if record:
                state["issued"] += 1
            conn = conns[slot]
            if conn.closed:
                conn = conns[slot] = await connect(host, port)
            try:
                response = await conn.send(payload, timeout)
            except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                if record:
                    errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                continue
            if not response.keep_alive:
                conn.close()
            if not record:
                state["warm"] += 1
            else:
                problem = check(response, stream, expect)
                if problem is None:
                    latencies.append(response.done - response.started)
                    ttfbs.append(response.first - response.started)
                else:
                    errors.append(problem)

    async def phase(seconds: float, record: bool) -> float:
        started = now()
        deadline = started + seconds
        tasks = [worker(i, deadline, record) for i in range(concurrency)]
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + timeout + 5)
        return now() - started

    if spec.get("warmup", 0) > 0:
        await phase(float(spec["warmup"]), record=False)
    probe = Probe(pids)
    rss = RssSampler(pids.get("gateway"))
    rss.start()
    probe.begin()
    elapsed = await phase(float(spec["duration"]), record=True)
    usage = probe.end()
    memory = rss.stop()
    for conn in conns:
        conn.close()
    done = len(latencies)
    return {
        "mode": "closed",
        "concurrency": concurrency,
        "requests": done,
        "warmup_requests": state["warm"],
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "elapsed_s": round(elapsed, 3),
        "rps": round(done / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": summary_ms(latencies),
        "ttfb_ms": summary_ms(ttfbs),
        **usage,
        **memory,
    }


# --------------------------------------------------------------------------- held-open streams


async def hold(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    n = int(spec["streams"])
    payload = build_request(spec)
    expect = int(spec.get("expect_chunks", 0))
    timeout = float(spec.get("timeout", 120.0))
    pids = {k: v for k, v in (spec.get("watch_pids") or {}).items() if v}
    state: dict[str, Any] = {"open": 0, "peak_open": 0, "all_open_at": None}

    def opened() -> None:
        state["open"] += 1
        state["peak_open"] = max(state["peak_open"], state["open"])
        if state["open"] == n and state["all_open_at"] is None:
            state["all_open_at"] = now()

    gate = asyncio.Semaphore(256)  # connect in waves; the listen backlog is finite

    async def dial() -> Conn:
        async with gate:
            return await connect(host, port, on_first=opened)

    connect_started = now()
    conns = await asyncio.wait_for(asyncio.gather(*(dial() for _ in range(n))), timeout)
    connect_s = now() - connect_started

    probe = Probe(pids)
    rss = RssSampler(pids.get("gateway"), every=0.05)
    rss.start()
    probe.begin()
    started = now()
    errors: list[str] = []
    latencies: list[float] = []
    ttfbs: list[float] = []

    async def one(conn: Conn) -> None:
        try:
            response = await conn.send(payload, timeout)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        finally:
            if conn.response is not None and conn.response.first:
                state["open"] -= 1
        problem = check(response, True, expect)
        if problem is None:
            latencies.append(response.done - response.started)
            ttfbs.append(response.first - response.started)
        else:
            errors.append(problem)

    await asyncio.wait_for(asyncio.gather(*(one(c) for c in conns)), timeout + 10)
    elapsed = now() - started
    usage = probe.end()
    memory = rss.stop()
    for conn in conns:
        conn.close()
    return {
        "mode": "hold",
        "streams": n,
        "completed": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "peak_open": state["peak_open"],
        "all_open_after_s": None
        if state["all_open_at"] is None
        else round(state["all_open_at"] - started, 3),
        "connect_s": round(connect_s, 3),
        "elapsed_s": round(elapsed, 3),
        "latency_ms": summary_ms(latencies),
        "ttfb_ms": summary_ms(ttfbs),
        **usage,
        **memory,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1] if len(argv) > 1 else sys.stdin.read())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    run = hold if spec.get("mode") == "hold" else closed_loop
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(run(spec))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
