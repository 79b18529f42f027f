"""Where a gateway request's CPU goes: the app driven in-process (raw ASGI calls, no HTTP
server, no load generator) against bench/fake_upstream.py, once as deployed and then with one
more part of the pipeline taken away or fixed at each step, each in a fresh process.

    .venv/bin/python bench/attribute.py [--requests 400]

The steps are monkeypatches made here, in the child process only; no gateway file is changed.
Each row's "saves" column is what that step bought on top of the rows above it, which is what
fixing that part would save. Numbers are process CPU (all threads) per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paths  # noqa: E402
import processes  # noqa: E402
import workload  # noqa: E402

STEPS = [
    ("as deployed", "full"),
    ("+ no metering (quota reserve/settle and ledger stubbed)", "nometer"),
    ("+ no auth lookups (caller memoised per key)", "noauth"),
    ("+ no request body validation (jsonschema)", "novalidate"),
    ("+ Connexion's per-request handler decoration cached", "cachefn"),
]


# --------------------------------------------------------------------------- child


def patch(upto: str) -> None:
    """Apply every step up to and including `upto`."""
    names = [name for _, name in STEPS]
    active = set(names[: names.index(upto) + 1])
    if "nometer" in active:
        from datetime import date

        from gateway import metering

        async def admit(self, caller, route, claim, *, byok=False):  # type: ignore[no-untyped-def]
            return metering.Ticket(self, caller, route, True, date.today(), [], claim)

        async def settle(self, ticket, ending):  # type: ignore[no-untyped-def]
            return metering.Receipt(0, 0, {})

        metering.Meter.admit = admit
        metering.Meter.settle = settle
    if "noauth" in active:
        from gateway import auth

        original = auth.Authenticator.caller
        memo: dict[str, Any] = {}

        async def caller(self, token, workspace, request_id, rates=None):  # type: ignore[no-untyped-def]
            if token not in memo:
                memo[token] = await original(self, token, workspace, request_id, rates)
            return memo[token]

        auth.Authenticator.caller = caller
    if "novalidate" in active:
        from web.connexion_compat import validators

        validators.JSON2020RequestBodyValidator._validate = lambda self, body: body
    if "cachefn" in active:
        import functools

        from connexion.apps.asynchronous import AsyncOperation

        fn = AsyncOperation.fn.fget
        AsyncOperation.fn = functools.cached_property(fn)
        AsyncOperation.fn.__set_name__(AsyncOperation, "fn")


async def drive(model: str, stream: bool, n: int, key: str, chunks: int) -> dict[str, float]:
    from gateway.settings import Settings
    from web.app import create_app

    app = create_app(Settings.from_env())
    body = json.dumps(
        {
            "model": model,
            "messages": workload.MESSAGES,
            "max_tokens": chunks,
            "stream": stream,
            **({"stream_options": {"include_usage": True}} if stream else {}),
        }
    ).encode()
    headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def one() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"{workload.API}/chat/completions",
            "raw_path": f"{workload.API}/chat/completions".encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        out: list[bytes] = []
        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))

        await app(scope, receive, send)
        text = b"".join(out)
        if status != 200 or text.count(b'"content":"') < (chunks if stream else 1):
            raise RuntimeError(f"bad answer: HTTP {status} {text[:300]!r}")

    for _ in range(min(50, n)):
        await one()
    cpu, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for _ in range(n):
        await one()
    return {
        "cpu_ms": 1000 * (time.process_time() - cpu) / n,
        "main_thread_ms": 1000 * (time.thread_time() - main) / n,
        "wall_ms": 1000 * (time.perf_counter() - wall) / n,
    }


def child(args: argparse.Namespace) -> int:
    patch(args.step)
    import uvloop

    result = uvloop.run(
        drive(args.model, args.stream, args.requests, os.environ["BENCH_KEY"], args.chunks)
    )
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- parent


def parent(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="wmgw-attr-"))
    procs = processes.Processes()
    try:
        env = {**os.environ, "WMGW_DATA_DIR": str(tmp / "data")}
        for name in ("DATABASE_URL", "WMGW_SERVER_SECRET", "WMGW_CATALOG"):
            env.pop(name, None)
        processes.wmgw(env, "plan", "create", "bench")
        workspace = processes.wmgw(env, "workspace", "create", "bench", "--plan", "bench")
        processes.wmgw(env, "user", "create", "bench@example.com", "--workspace", workspace)
        key = processes.wmgw(env, "key", "create", "bench@example.com")
        _, port = processes.start_upstream(procs, tmp / "upstream.log")
        env.update(
            WMGW_OPENAI_API_KEY="bench-upstream-key",
            WMGW_OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            BENCH_KEY=key,
        )
        runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
        for attempt in range(args.repeat):
            for _label, step in STEPS:
                for stream in (False, True):
                    command = [
                        sys.executable, __file__, "--child", "--step", step,
                        "--model", workload.MODEL, "--requests", str(args.requests),
                        "--chunks", str(args.chunks),
                    ]  # fmt: skip
                    if stream:
                        command.append("--stream")
                    done = subprocess.run(
                        command, env=env, capture_output=True, text=True, timeout=600
                    )
                    if done.returncode != 0:
                        raise RuntimeError(f"{step}: {done.stderr.strip()[-1500:]}")
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    runs.setdefault((step, stream), []).append(result)
                    print(
                        f"run {attempt + 1}/{args.repeat} {step:10s} "
                        f"{'stream' if stream else 'json':6s} "
                        f"{result['cpu_ms']:6.2f} ms CPU/request "
                        f"({result['main_thread_ms']:.2f} on the event loop's thread, "
                        f"{result['wall_ms']:.2f} ms wall)",
                        file=sys.stderr,
                        flush=True,
                    )
        # The least disturbed run of each (the machine is shared): the minimum CPU per request.
        rows = [
            {
                "label": label,
                "json": min(runs[(step, False)], key=lambda r: r["cpu_ms"]),
                "stream": min(runs[(step, True)], key=lambda r: r["cpu_ms"]),
            }
            for label, step in STEPS
        ]
        lines = [
            f"In-process CPU per request (best of {args.repeat} runs of {args.requests} requests, "
            f"concurrency 1, {args.chunks} chunks, `{workload.MODEL}` -> fake upstream):\n",
            "| step | non-streaming ms | saves | streaming ms | saves |",
            "|---|---:|---:|---:|---:|",
        ]
        previous = None
        for row in rows:
            j, s = row["json"]["cpu_ms"], row["stream"]["cpu_ms"]
            dj = "" if previous is None else f"{previous[0] - j:.2f}"
            ds = "" if previous is None else f"{previous[1] - s:.2f}"
            lines.append(f"| {row['label']} | {j:.2f} | {dj} | {s:.2f} | {ds} |")
            previous = (j, s)
        text = "\n".join(lines) + "\n"
        print(text)
        out = paths.RESULTS / "attribution.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        return 0
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--chunks", type=int, default=16)
    p.add_argument("--repeat", type=int, default=3, help="runs per step; the best one is shown")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--step", default="full", help=argparse.SUPPRESS)
    p.add_argument("--model", default=workload.MODEL, help=argparse.SUPPRESS)
    p.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
