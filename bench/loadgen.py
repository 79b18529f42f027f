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
import resource
import sys
from typing import Any

import httptools
from loadgen_client import Conn, build_request, check, connect, now
from phase_probes import Probe, RssSampler

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


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
