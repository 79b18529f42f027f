"""Micro-benchmarks behind the hot spots named in BENCHMARKS.md, each run in this process on a
fresh SQLite database:

1. metering, one request's worth (reserve + settle: 2 batches, 3 statements):
   a. one hop to a thread and back: `run_in_executor` versus a SimpleQueue and
      `call_soon_threadsafe` (what storage/group_commit.py does);
   b. an empty GroupCommit batch, then gateway.metering.Meter admit + settle as deployed;
   c. the three statements on one connection, synchronously: through SQLAlchemy's
      `Connection.execute` versus storage/direct.py (compiled once, run on the driver's cursor),
      versus the stdlib `sqlite3` module;
2. 16 concurrent admit + settle loops through the Meter (group commit);
3. request-body validation of a small chat request against the operation's resolved schema:
   jsonschema (what gateway/spec31.py reports errors with) versus jsonschema_rs;
4. one upstream call to bench/fake_upstream.py (non-streaming, and a 16-chunk stream read to
   its end), client CPU only: httpx.AsyncClient over httpx's own transport (httpcore) versus
   the gateway's client (providers/upstream.UpstreamClient over providers/transport.py).

    .venv/bin/python bench/micro.py [--n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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

import run as bench_run  # noqa: E402

SETTLE = (
    "UPDATE daily_usage SET reserved = reserved - 1, used = used + 1 "
    "WHERE workspace_id = ? AND day = ? RETURNING used, reserved"
)
RESERVE = (
    "UPDATE daily_usage SET reserved = reserved + 1 WHERE workspace_id = ? AND day = ? "
    "AND used + reserved + 1 <= ? RETURNING used, reserved"
)
LEDGER = (
    "INSERT INTO ledger (request_id, user_id, workspace_id, key_id, model, provider, endpoint, "
    "prompt_tokens, completion_tokens, cached_tokens, messages, usage_estimated, byok, status, "
    "http_status, duration_ms, created_at, video_seconds) "
    f"VALUES ({', '.join('?' * 18)})"
)
LIMIT = 10**9
ids = itertools.count()


def per_call(n: int, started: tuple[float, float]) -> str:
    cpu, main = started
    return (
        f"{1000 * (time.process_time() - cpu) / n:.3f} ms CPU "
        f"(event-loop thread {1000 * (time.thread_time() - main) / n:.3f} ms)"
    )


def ledger_row(workspace: str):  # type: ignore[no-untyped-def]
    from storage.usage import LedgerRow

    return LedgerRow(
        request_id=f"req_micro_{time.time_ns()}_{next(ids)}", user_id="u",
        workspace_id=workspace, key_id="k", model="m", provider="p", endpoint="chat",
        prompt_tokens=9, completion_tokens=16, cached_tokens=0, messages=1,
        usage_estimated=False, byok=False, status="completed", http_status=200, duration_ms=3,
        created_at=datetime.datetime.now(datetime.UTC),
    )  # fmt: skip


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
    from domain.metering import Usage
    from gateway.auth import Caller
    from gateway.metering import Meter, Outcome
    from storage.group_commit import GroupCommit

    writer = GroupCommit(f"sqlite+aiosqlite:///{db_path}")
    meter = Meter(writer)
    base = Caller("req", "u", "k", workspace, "bench", LIMIT)
    route = ("chat.completions", "openai/gpt-5-mini", "openai")
    outcome = Outcome(Usage(prompt_tokens=9, completion_tokens=16), "completed", 200)

    async def empty_batch() -> None:
        await writer.run(lambda conn: None)

    async def admit_and_settle() -> None:
        caller = dataclasses.replace(base, request_id=f"req_micro_{time.time_ns()}_{next(ids)}")
        admission = await meter.admit(caller)
        await meter.settle(caller, admission, route, outcome)

    lines = await hops(n)
    lines.append(await timed("b. empty GroupCommit batch", n, empty_batch))
    lines.append(await timed("b. Meter admit + settle as deployed", n, admit_and_settle))
    await writer.aclose()
    return lines + statements(n, db_path, workspace)


def statements(n: int, db_path: Path, workspace: str) -> list[str]:
    from sqlalchemy import insert

    from storage import usage
    from storage.group_commit import writer_engine
    from storage.tables import ledger

    day = datetime.datetime.now(datetime.UTC).date()
    engine = writer_engine(f"sqlite:///{db_path}")
    conn = engine.connect()
    reserve = usage._RESERVE_WITHIN.statement  # noqa: SLF001
    settle = usage._SETTLE.statement  # noqa: SLF001

    def through_sqlalchemy() -> None:
        with conn.begin():
            conn.execute(reserve, {"w": workspace, "d": day, "n": 1, "limit": LIMIT}).all()
        with conn.begin():
            conn.execute(settle, {"w": workspace, "d": day, "n": 1, "counted": 1}).all()
            conn.execute(insert(ledger), ledger_row(workspace).values())

    def through_direct() -> None:
        with conn.begin():
            usage.reserve(conn, workspace, day, LIMIT, 1)
        with conn.begin():
            usage.settle(conn, day, 1, LIMIT, ledger_row(workspace))

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
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute(RESERVE, (workspace, day.isoformat(), LIMIT)).fetchall()
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute(SETTLE, (workspace, day.isoformat())).fetchall()
        row = ledger_row(workspace).values()
        row["created_at"] = row["created_at"].isoformat(" ")
        db.execute(LEDGER, tuple(row.values()))
        db.execute("COMMIT")
    lines.append(f"c. same SQL via stdlib sqlite3, synchronous: {per_call(n, started)}")
    db.close()
    return lines


async def hammer(meter, base, route, outcome, deadline: float, latencies: list[float]) -> None:  # type: ignore[no-untyped-def]
    while time.perf_counter() < deadline:
        caller = dataclasses.replace(base, request_id=f"req_c_{time.time_ns()}_{next(ids)}")
        started = time.perf_counter()
        admission = await meter.admit(caller)
        await meter.settle(caller, admission, route, outcome)
        latencies.append(time.perf_counter() - started)


async def contention(seconds: float, db_path: Path, workspace: str, tasks: int) -> list[str]:
    """`tasks` concurrent admit + settle loops through the Meter's group commit."""
    from domain.metering import Usage
    from gateway.auth import Caller
    from gateway.metering import Meter, Outcome
    from storage.group_commit import GroupCommit

    writer = GroupCommit(f"sqlite+aiosqlite:///{db_path}")
    meter = Meter(writer)
    base = Caller("req", "u", "k", workspace, "bench", LIMIT)
    route = ("chat.completions", "openai/gpt-5-mini", "openai")
    outcome = Outcome(Usage(prompt_tokens=9, completion_tokens=16), "completed", 200)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.process_time()
    await asyncio.gather(
        *(hammer(meter, base, route, outcome, deadline, latencies) for _ in range(tasks))
    )
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

    spec = yaml.safe_load((bench_run.ROOT / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    # The request schema with `#/components/schemas/...` references kept resolvable.
    schema = {**schemas["CreateChatCompletionRequest"], "components": {"schemas": schemas}}
    body = {"model": bench_run.MODEL, "messages": bench_run.MESSAGES, "max_tokens": 16}
    python = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    rust = jsonschema_rs.validator_for(schema)
    lines = []
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        best_match(python.iter_errors(body))
    lines.append(
        f"jsonschema best_match(iter_errors(body)) (gateway/spec31.py): {per_call(n, started)}"
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

    from providers.transport import LeanTransport
    from providers.upstream import UpstreamClient, json_body

    url = httpx.URL(f"http://127.0.0.1:{port}/v1/chat/completions")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    clients = {
        "httpx over httpcore": httpx.AsyncClient(trust_env=False),
        "the gateway's client": UpstreamClient(
            transport=LeanTransport(max_connections=10, max_idle_connections=10),
            trust_env=False,
        ),
    }
    lines = []
    for label, client in clients.items():
        async with client:

            async def json_call(client=client) -> None:  # type: ignore[no-untyped-def]
                answer = await client.post(url, content=json_body(body), headers=headers)
                answer.json()

            async def stream_call(client=client) -> None:  # type: ignore[no-untyped-def]
                content = json_body({**body, "stream": True})
                async with client.stream("POST", url, content=content, headers=headers) as r:
                    async for _ in r.aiter_bytes():
                        pass

            lines.append(await timed(f"upstream call, {label}, non-streaming", n, json_call))
            lines.append(await timed(f"upstream call, {label}, 16-chunk stream", n, stream_call))
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
        bench_run.wmgw(env, "plan", "create", "bench")
        workspace = bench_run.wmgw(env, "workspace", "create", "bench", "--plan", "bench")
        import uvloop

        lines = uvloop.run(metering(args.n, tmp / "gateway.db", workspace))
        lines += uvloop.run(contention(args.seconds, tmp / "gateway.db", workspace, 16))
        lines += validation(args.n * 5)
        procs = bench_run.Processes()
        try:
            _, port = bench_run.start_upstream(procs, tmp / "upstream.log")
            lines += uvloop.run(upstream_calls(args.n * 5, port))
        finally:
            procs.stop_all()
        print("\n".join(f"- {line}" for line in lines))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
