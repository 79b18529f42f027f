"""Micro-benchmarks behind the hot spots named in BENCHMARKS.md, each run in this process on a
fresh SQLite database:

1. metering, one request's worth (admission + settlement: 2 transactions, 5 statements):
   a. one hop to a thread and back: `run_in_executor` versus a SimpleQueue and
      `call_soon_threadsafe` (what storage/group_commit.py does);
   b. an empty GroupCommit batch, then gateway.metering.Meter admit + settle as deployed
      (SQLite: on the event loop while few requests are in flight, storage/loop_writes.py);
   c. the counters' two statements on one connection, synchronously: through SQLAlchemy's
      `Connection.execute` versus storage/direct.py (compiled once, run on the driver's cursor),
      versus the stdlib `sqlite3` module;
2. 16 concurrent admit + settle loops through the Meter (group commit on a thread);
3. request-body validation of a small chat request against the operation's resolved schema:
   jsonschema (what web/connexion_compat/validators.py reports errors with) versus jsonschema_rs;
4. one upstream call to bench/fake_upstream.py (non-streaming, and a 16-chunk stream read to
   its end), client CPU only: httpx.AsyncClient over httpx's own transport (httpcore) versus
   the gateway's client (providers/http/client.HttpClient, over aiohttp).

    .venv/bin/python bench/micro.py [--n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import os
import queue
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paths  # noqa: E402
import processes  # noqa: E402
import workload  # noqa: E402

KEY = "subject = ? AND unit = 'messages' AND period = ?"
SETTLE = f"UPDATE quota_counters SET reserved = reserved - 1, used = used + 1 WHERE {KEY}"
RESERVE = (
    f"UPDATE quota_counters SET reserved = reserved + 1 WHERE {KEY} "
    "AND used + reserved + 1 <= ? RETURNING used, reserved"
)
LIMIT = 10**9
ids = itertools.count()


def per_call(n: int, started: tuple[float, float]) -> str:
    cpu, main = started
    return (
        f"{1000 * (time.process_time() - cpu) / n:.3f} ms CPU "
        f"(event-loop thread {1000 * (time.thread_time() - main) / n:.3f} ms)"
    )


def request(workspace: str):  # type: ignore[no-untyped-def]
    """A caller, a route, a claim and an ending: one small chat request."""
    from domain.charges import Ending
    from domain.metering import Usage
    from gateway.auth import Caller
    from gateway.tickets import Claim, Route

    caller = Caller(f"req_micro_{time.time_ns()}_{next(ids)}", "u", "k", workspace, "bench", LIMIT)
    ending = Ending("completed", 200, Usage(prompt_tokens=9, completion_tokens=16), True)
    claim = Claim(prompt_tokens=20, max_output=16, lowerable=True)
    return caller, Route("chat.completions", "openai/gpt-5-mini", "openai"), claim, ending


async def timed(label: str, n: int, step) -> str:  # type: ignore[no-untyped-def]
    for _ in range(30):
        await step()
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        await step()
    return f"{label}: {per_call(n, started)}"


async def hops(n: int) -> list[str]:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(1)
    handoff: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        while (future := handoff.get()) is not None:
            loop.call_soon_threadsafe(future.set_result, None)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()

    async def via_executor() -> None:
        await loop.run_in_executor(executor, lambda: None)

    async def via_simple_queue() -> None:
        future = loop.create_future()
        handoff.put(future)
        await future

    lines = [
        await timed("a. hop via run_in_executor", n, via_executor),
        await timed("a. hop via SimpleQueue + call_soon_threadsafe", n, via_simple_queue),
    ]
    handoff.put(None)
    executor.shutdown()
    return lines


async def metering(n: int, db_path: Path, workspace: str) -> list[str]:
    from gateway.metering import Meter
    from storage.group_commit import GroupCommit

    writer = GroupCommit(f"sqlite+aiosqlite:///{db_path}")
    meter = Meter(writer)

    async def empty_batch() -> None:
        await writer._batched(lambda conn: None)  # noqa: SLF001 - the thread's round trip

    async def admit_and_settle() -> None:
        caller, route, claim, ending = request(workspace)
        ticket = await meter.admit(caller, route, claim)
        await ticket.settle(ending)

    lines = await hops(n)
    lines.append(await timed("b. empty GroupCommit batch", n, empty_batch))
    lines.append(await timed("b. Meter admit + settle as deployed", n, admit_and_settle))
    await writer.aclose()
    return lines + statements(n, db_path, workspace)


def statements(n: int, db_path: Path, workspace: str) -> list[str]:
    from domain.quota import MESSAGES, Hold, Want
    from storage import quota
    from storage.group_commit import writer_engine

    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    engine = writer_engine(f"sqlite:///{db_path}")
    conn = engine.connect()
    want = Want(workspace, MESSAGES, day, 1, LIMIT, 1)
    hold = Hold(workspace, MESSAGES, day, 1)
    params = {"s": workspace, "u": MESSAGES, "p": day}

    def through_sqlalchemy() -> None:
        with conn.begin():
            reserve = quota._RESERVE_WITHIN.statement  # noqa: SLF001
            conn.execute(reserve, {**params, "n": 1, "limit": LIMIT}).all()
        with conn.begin():
            settle = quota._SETTLE.statement  # noqa: SLF001
            conn.execute(settle, {**params, "n": 1, "used": 1}).all()

    def through_direct() -> None:
        with conn.begin():
            quota.reserve(conn, want)
        with conn.begin():
            quota.settle(conn, hold, 1)

    lines = []
    for label, step in (
        ("c. reserve + settle via SQLAlchemy Connection.execute", through_sqlalchemy),
        ("c. reserve + settle via storage/direct.py", through_direct),
    ):
        started = (time.process_time(), time.thread_time())
        for _ in range(n):
            step()
        lines.append(f"{label}: {per_call(n, started)}")
    conn.close()
    engine.dispose()

    db = sqlite3.connect(db_path, isolation_level=None)
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute(RESERVE, (workspace, day, LIMIT)).fetchall()
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute(SETTLE, (workspace, day))
        db.execute("COMMIT")
    lines.append(f"c. same SQL via stdlib sqlite3, synchronous: {per_call(n, started)}")
    db.close()
    return lines


async def hammer(meter, workspace: str, deadline: float, latencies: list[float]) -> None:  # type: ignore[no-untyped-def]
    while time.perf_counter() < deadline:
        caller, route, claim, ending = request(workspace)
        started = time.perf_counter()
        ticket = await meter.admit(caller, route, claim)
        await ticket.settle(ending)
        latencies.append(time.perf_counter() - started)


async def contention(seconds: float, db_path: Path, workspace: str, tasks: int) -> list[str]:
    """`tasks` concurrent admit + settle loops through the Meter's group commit."""
    from gateway.metering import Meter
    from storage.group_commit import GroupCommit

    writer = GroupCommit(f"sqlite+aiosqlite:///{db_path}")
    meter = Meter(writer)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.process_time()
    await asyncio.gather(*(hammer(meter, workspace, deadline, latencies) for _ in range(tasks)))
    cpu = time.process_time() - started
    await writer.aclose()
    latencies.sort()
    n = len(latencies)
    return [
        f"{tasks} concurrent admit + settle through group commit: {n / seconds:.0f}/s, "
        f"{1000 * cpu / n:.3f} ms CPU each, p50 {1000 * latencies[n // 2]:.1f} ms, "
        f"p99 {1000 * latencies[int(n * 0.99)]:.1f} ms, max {1000 * latencies[-1]:.1f} ms"
    ]


def validation(n: int) -> list[str]:
    import jsonschema_rs
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    spec = yaml.safe_load((paths.ROOT / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    # The request schema with `#/components/schemas/...` references kept resolvable.
    schema = {**schemas["CreateChatCompletionRequest"], "components": {"schemas": schemas}}
    body = {"model": workload.MODEL, "messages": workload.MESSAGES, "max_tokens": 16}
    python = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    rust = jsonschema_rs.validator_for(schema)
    lines = []
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        best_match(python.iter_errors(body))
    lines.append(
        "jsonschema best_match(iter_errors(body)) (web/connexion_compat/validators.py): "
        + per_call(n, started)
    )
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        rust.is_valid(body)
    lines.append(
        f"jsonschema_rs is_valid(body): {per_call(n, started)} (valid: {rust.is_valid(body)})"
    )
    return lines


async def upstream_calls(n: int, port: int) -> list[str]:
    import httpx

    from providers.http.client import HttpClient
    from providers.http.upstream import json_body

    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    lines = []
    async with httpx.AsyncClient(trust_env=False) as plain:

        async def httpx_json() -> None:
            (await plain.post(url, content=json_body(body), headers=headers)).json()

        async def httpx_stream() -> None:
            content = json_body({**body, "stream": True})
            async with plain.stream("POST", url, content=content, headers=headers) as r:
                async for _ in r.aiter_bytes():
                    pass

        lines.append(
            await timed("upstream call, httpx over httpcore, non-streaming", n, httpx_json)
        )
        lines.append(
            await timed("upstream call, httpx over httpcore, 16-chunk stream", n, httpx_stream)
        )
    gateway = HttpClient(max_connections=10)

    async def client_json() -> None:
        (await gateway.post(url, content=json_body(body), headers=headers)).json()

    async def client_stream() -> None:
        content = json_body({**body, "stream": True})
        async with gateway.stream("POST", url, content=content, headers=headers) as r:
            async for _ in r.aiter_bytes():
                pass

    lines.append(await timed("upstream call, the gateway's client, non-streaming", n, client_json))
    lines.append(
        await timed("upstream call, the gateway's client, 16-chunk stream", n, client_stream)
    )
    await gateway.aclose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="iterations of each")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="duration of each contention run"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wmgw-micro-"))
    try:
        env = {**os.environ, "WMGW_DATA_DIR": str(tmp)}
        env.pop("DATABASE_URL", None)
        processes.wmgw(env, "plan", "create", "bench")
        workspace = processes.wmgw(env, "workspace", "create", "bench", "--plan", "bench")
        import uvloop

        lines = uvloop.run(metering(args.n, tmp / "gateway.db", workspace))
        lines += uvloop.run(contention(args.seconds, tmp / "gateway.db", workspace, 16))
        lines += validation(args.n * 5)
        procs = processes.Processes()
        try:
            _, port = processes.start_upstream(procs, tmp / "upstream.log")
            lines += uvloop.run(upstream_calls(args.n * 5, port))
        finally:
            procs.stop_all()
        print("\n".join(f"- {line}" for line in lines))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
