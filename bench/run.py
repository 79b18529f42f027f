"""`make bench`: the gateway's overhead, measured on loopback against its own fast fake upstream.

    .venv/bin/python bench/run.py            # full run, about 3 minutes
    .venv/bin/python bench/run.py --quick    # about 1 minute, noisier

Starts, each as its own process so that their CPU is never mixed up:
  - bench/fake_upstream.py, an OpenAI-compatible upstream (uvloop + httptools);
  - the gateway, exactly as deployed with one worker:
    `uvicorn --factory web.app:create_app_from_env` on a fresh SQLite data dir, with a real
    developer key (auth), an unlimited plan (the quota is still reserved and settled on every
    request) and the ledger, and `openai/gpt-5-mini` routed to the fake upstream;
  - LiteLLM proxy (bench/peer.py), when `make bench` could install it in bench/.peer: the same
    model routed to the same fake upstream, one worker, so that the gateway's CPU can be quoted
    as a fraction of a peer's measured in the same run;
  - bench/loadgen.py, one per scenario, a bounded closed-loop load generator.

Scenarios: non-streaming and streaming (16 content chunks), at concurrency 1, 16 and 64, each
direct to the fake upstream, through the gateway and through LiteLLM, back to back; then
1,000 streams held open at once through the gateway (16 chunks 0.5 s apart). Gateway CPU per
request comes from /proc/<pid>/stat (utime + stime, all threads) over each recorded phase, RSS
from VmRSS.

Prints a markdown report with pass/fail against the targets and writes it to
bench/results/latest.md (and .json). Exits 0 even when a target is missed; exits 1 only when
the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paths import RESULTS
from processes import (
    Processes,
    raise_nofile,
    start_gateway,
    start_peer,
    start_relay,
    start_upstream,
    wait_ready,
    wmgw,
)
from procfs import cpu_model, hwm_kb, machine_busy, rss_kb
from progress import log
from report import report
from scenarios import Bench, smoke
from workload import API


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Gateway benchmark on loopback (see BENCHMARKS.md).")
    p.add_argument(
        "--quick", action="store_true", help="short run (about a minute), noisier numbers"
    )
    p.add_argument(
        "--duration", type=float, help="recorded seconds per scenario (default 8, quick 2)"
    )
    p.add_argument(
        "--warmup", type=float, help="warm-up seconds per scenario (default 1.5, quick 0.5)"
    )
    p.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64]
    )
    p.add_argument("--chunks", type=int, default=16, help="content chunks per answer")
    p.add_argument("--hold-streams", type=int, default=1000)
    p.add_argument(
        "--hold-delay-ms",
        type=float,
        help="delay between chunks of held-open streams (default 500, quick 200)",
    )
    p.add_argument(
        "--hold-barrier-s",
        type=float,
        default=120.0,
        help="longest wait for all held streams to be open",
    )
    p.add_argument("--no-hold", action="store_true", help="skip the held-open streams test")
    p.add_argument(
        "--no-peer", action="store_true", help="skip LiteLLM proxy even when it is installed"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="after the run, py-spy the gateway (json and stream, c=16) and list hot spots",
    )
    p.add_argument(
        "--only", choices=["json", "stream"], help="run only non-streaming or streaming scenarios"
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="pin the gateway to CPU 0 and the upstream + load generator to CPU 1",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "latest.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and logs")
    args = p.parse_args(argv)
    args.duration = args.duration or (2.0 if args.quick else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.5)
    args.hold_delay_ms = (
        args.hold_delay_ms if args.hold_delay_ms is not None else (200.0 if args.quick else 500.0)
    )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    nofile = raise_nofile()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tmp = Path(tempfile.mkdtemp(prefix="wmgw-bench-"))
    procs = Processes()
    bench = Bench(args)
    try:
        log(f"data dir {tmp}; open-file limit {nofile[0]}")
        idle_busy = machine_busy(1.0)
        if idle_busy > 0.10:
            log(
                f"WARNING: the machine is already {100 * idle_busy:.0f}% busy; "
                "numbers will be noisy"
            )
        env = {**os.environ, "WMGW_DATA_DIR": str(tmp / "data")}
        for name in ("DATABASE_URL", "WMGW_SERVER_SECRET", "WMGW_CATALOG"):
            env.pop(name, None)
        key = developer_key(env)

        upstream, up_port = start_upstream(procs, tmp / "upstream.log")
        env.update(
            WMGW_OPENAI_API_KEY="bench-upstream-key",
            WMGW_OPENAI_BASE_URL=f"http://127.0.0.1:{up_port}/v1",
        )
        gateway, gw_port = start_gateway(procs, env, tmp / "gateway.log")
        auth = {"Authorization": f"Bearer {key}"}
        wait_ready(gateway, f"http://127.0.0.1:{gw_port}{API}/models", auth, tmp / "gateway.log")
        log(
            f"gateway pid {gateway.pid} on :{gw_port}, "
            f"fake upstream pid {upstream.pid} on :{up_port}"
        )
        if args.pin:
            os.sched_setaffinity(gateway.pid, {0})
            os.sched_setaffinity(upstream.pid, {1})
            os.sched_setaffinity(0, {1})  # inherited by every load generator
        smoke(gw_port, key, args.chunks)
        rss_ready = rss_kb(gateway.pid) or 0
        bench.configure(gateway.pid, gw_port, upstream.pid, up_port, key)
        relay = start_relay(procs, env, tmp, up_port)
        if args.pin:
            os.sched_setaffinity(relay[0], {0})
        bench.add_relay(*relay)
        litellm = start_peer(procs, args, env, tmp, up_port)
        if litellm:
            bench.add_peer(*litellm)
        peer_rss_ready = rss_kb(bench.peer_pid) if bench.peer_pid else None

        run_scenarios(bench)
        if gateway.poll() is not None:
            raise RuntimeError("the gateway exited during the run")
        meta = {
            "started": started,
            "command": "make bench  (.venv/bin/python bench/run.py"
            + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
            + ")",
            "nproc": os.cpu_count() or 0,
            "cpu": cpu_model(),
            "mem_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
            "kernel": platform.release(),
            "python": platform.python_version(),
            "idle_check_busy": idle_busy,
            "rss_ready_mb": rss_ready / 1024,
            "rss_end_mb": (rss_kb(gateway.pid) or 0) / 1024,
            "rss_hwm_mb": (hwm_kb(gateway.pid) or 0) / 1024,
            "peer": bench.peer_version,
            "peer_rss_ready_mb": (peer_rss_ready or 0) / 1024,
            "peer_rss_end_mb": ((rss_kb(bench.peer_pid) if bench.peer_pid else 0) or 0) / 1024,
            "ledger_rows": None,
            "gateway_requests": 2  # the smoke tests
            + sum(
                r["requests"] + r["errors"] + r["warmup_requests"]
                for r in bench.results
                if r["target"] == "gateway"
            )
            + (bench.hold["streams"] if bench.hold else 0)
            + bench.extra_requests,
        }
        procs.stop_all()
        meta["ledger_rows"] = ledger_rows(tmp / "data" / "gateway.db")
        text, data = report(bench, meta)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))
        print(text)
        log(f"written to {args.out}")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        log(f"benchmark failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def developer_key(env: dict[str, str]) -> str:
    """A developer key on an unlimited plan, made with `wmgw` as an operator would."""
    # A limit far above what a run uses: the conditional reservation runs, as in production.
    wmgw(env, "plan", "create", "bench", "--daily-messages", "1000000000")
    workspace = wmgw(env, "workspace", "create", "bench", "--plan", "bench")
    wmgw(env, "user", "create", "bench@example.com", "--workspace", workspace)
    key = wmgw(env, "key", "create", "bench@example.com")
    if not key.startswith("wm_"):
        raise RuntimeError(f"unexpected key output: {key!r}")
    return key


def run_scenarios(bench: Bench) -> None:
    """Closed-loop load on every target, then the held-open streams and the profiles."""
    args = bench.args
    kinds = [False, True] if args.only is None else [args.only == "stream"]
    for c in args.concurrency:
        for stream in kinds:
            for target in bench.targets():
                bench.closed(target, stream, c)
    if not args.no_hold:
        log(
            f"holding {args.hold_streams} streams open "
            f"({args.chunks} chunks, {args.hold_delay_ms:g} ms apart)"
        )
        bench.held_open()
    if args.profile:
        for stream in kinds:
            log(f"profiling the gateway ({'stream' if stream else 'json'}, c=16) with py-spy")
            summary = bench.profile(stream, 16)
            if summary:
                bench.profiles[f"{'streaming' if stream else 'non-streaming'}, concurrency 16"] = (
                    summary
                )


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def ledger_rows(path: Path) -> int | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute("SELECT count(*) FROM ledger").fetchone()[0]
    except sqlite3.Error:
        return None


if __name__ == "__main__":
    sys.exit(main())
