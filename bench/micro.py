"""Micro-benchmarks behind the hot spots named in BENCHMARKS.md, each run in this process on a
fresh SQLite database:

1. metering, one request's worth (reserve + settle: 2 transactions, 4 statements), done
   a. the gateway's way: gateway.metering.Meter (SQLAlchemy Core + async engine + aiosqlite);
   b. the same SQL strings through the same async engine (`exec_driver_sql`): no statement
      building or compilation;
   c. the same SQL through the stdlib `sqlite3` module, synchronously;
2. the same, 16 at a time: the pooled engine versus a single serialising connection;
3. request-body validation of a small chat request against the operation's resolved schema:
   jsonschema (what gateway/spec31.py runs) versus jsonschema_rs (already installed).

    .venv/bin/python bench/micro.py [--n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import itertools
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench_run  # noqa: E402

RESERVE = [
    "INSERT INTO daily_usage (workspace_id, day, used, reserved) VALUES (?, ?, 0, 0) "
    "ON CONFLICT DO NOTHING",
    "UPDATE daily_usage SET reserved = reserved + 1 WHERE workspace_id = ? AND day = ? "
    "RETURNING used, reserved",
]
SETTLE = (
    "UPDATE daily_usage SET reserved = reserved - 1, used = used + 1 "
    "WHERE workspace_id = ? AND day = ? RETURNING used, reserved"
)
LEDGER = (
    "INSERT INTO ledger (request_id, user_id, workspace_id, key_id, model, provider, endpoint, "
    "prompt_tokens, completion_tokens, cached_tokens, messages, usage_estimated, status, "
    "http_status, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
ids = itertools.count()


def ledger_values(workspace: str) -> tuple:
    return (
        f"req_micro_{time.time_ns()}_{next(ids)}", "u", workspace, "k", "m", "p", "chat",
        9, 16, 0, 1, 0, "completed", 200, 3, datetime.datetime.now().isoformat(" "),
    )  # fmt: skip


def per_call(n: int, started: tuple[float, float]) -> str:
    cpu, main = started
    return (
        f"{1000 * (time.process_time() - cpu) / n:.3f} ms CPU "
        f"(event-loop thread {1000 * (time.thread_time() - main) / n:.3f} ms)"
    )


async def metering(n: int, db_path: Path, workspace: str) -> list[str]:
    from domain.metering import Usage
    from gateway.auth import Caller
    from gateway.metering import Meter, Outcome
    from storage.engine import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    meter = Meter(engine)
    base = Caller("req", "u", "k", workspace, "bench", None)
    route = ("chat.completions", "openai/gpt-5-mini", "openai")
    outcome = Outcome(Usage(prompt_tokens=9, completion_tokens=16), "completed", 200)

    async def gateway_way() -> None:
        caller = dataclasses.replace(base, request_id=f"req_micro_{time.time_ns()}_{next(ids)}")
        admission = await meter.admit(caller)
        await meter.settle(caller, admission, route, outcome)

    day = datetime.datetime.now(datetime.UTC).date().isoformat()

    async def driver_sql() -> None:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(RESERVE[0], (workspace, day))
            (await conn.exec_driver_sql(RESERVE[1], (workspace, day))).all()
        async with engine.begin() as conn:
            (await conn.exec_driver_sql(SETTLE, (workspace, day))).all()
            await conn.exec_driver_sql(LEDGER, ledger_values(workspace))

    lines = []
    for label, step in (
        (
            "a. gateway.metering.Meter admit + settle (SQLAlchemy Core, async, aiosqlite)",
            gateway_way,
        ),
        ("b. same SQL strings via the async engine (exec_driver_sql)", driver_sql),
    ):
        for _ in range(30):
            await step()
        started = (time.process_time(), time.thread_time())
        for _ in range(n):
            await step()
        lines.append(f"{label}: {per_call(n, started)}")
    await engine.dispose()

    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    started = (time.process_time(), time.thread_time())
    for _ in range(n):
        db.execute("BEGIN IMMEDIATE")
        for sql in RESERVE:
            db.execute(sql, (workspace, day)).fetchall()
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute(SETTLE, (workspace, day)).fetchall()
        db.execute(LEDGER, ledger_values(workspace))
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
    """`tasks` concurrent admit + settle loops: the gateway's engine (a pool of up to 16 SQLite
    connections that race for the write lock, with busy_timeout back-off) versus one connection
    that serialises them."""
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    from domain.metering import Usage
    from gateway.auth import Caller
    from gateway.metering import Meter, Outcome
    from storage import engine as storage_engine

    url = f"sqlite+aiosqlite:///{db_path}"
    single = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
    event.listen(single.sync_engine, "connect", storage_engine._tune_sqlite)
    base = Caller("req", "u", "k", workspace, "bench", None)
    route = ("chat.completions", "openai/gpt-5-mini", "openai")
    outcome = Outcome(Usage(prompt_tokens=9, completion_tokens=16), "completed", 200)
    lines = []
    for label, engine in (
        ("gateway engine (pool 8 + 8 overflow)", storage_engine.create_engine(url)),
        ("one connection (pool_size=1)", single),
    ):
        meter = Meter(engine)
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        jobs = [hammer(meter, base, route, outcome, deadline, latencies) for _ in range(tasks)]
        await asyncio.gather(*jobs)
        await engine.dispose()
        latencies.sort()
        n = len(latencies)
        lines.append(
            f"{tasks} concurrent admit + settle, {label}: {n / seconds:.0f}/s, "
            f"p50 {1000 * latencies[n // 2]:.1f} ms, p99 {1000 * latencies[int(n * 0.99)]:.1f} ms, "
            f"max {1000 * latencies[-1]:.1f} ms"
        )
    return lines


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
        print("\n".join(f"- {line}" for line in lines))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
