"""The scenarios of a benchmark run: a smoke test through the gateway, then closed-loop load on
each target (direct, bare relay, gateway, LiteLLM), the held-open streams and the optional
py-spy profile, each scenario by a new bench/loadgen.py process. Bench keeps their results."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import peer
from paths import BENCH, PY, ROOT
from procfs import rss_kb
from progress import log
from workload import API, MESSAGES, MODEL


def smoke(port: int, key: str, chunks: int) -> None:
    """One request of each kind through the gateway, checked, before any load."""
    url = f"http://127.0.0.1:{port}{API}/chat/completions"
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": chunks}
    r = httpx.post(url, json=body, headers=headers, timeout=30)
    if r.status_code != 200 or r.json()["choices"][0]["message"]["content"].count("w") != chunks:
        raise RuntimeError(
            f"smoke test (non-streaming) failed: HTTP {r.status_code} {r.text[:300]}"
        )
    text = httpx.post(url, json={**body, "stream": True}, headers=headers, timeout=30).text
    if not text.rstrip().endswith("data: [DONE]") or text.count('"content":"') != chunks:
        raise RuntimeError(f"smoke test (streaming) failed: {text[-300:]}")


def upstream_stats(port: int) -> dict[str, int]:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/stats", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {"connections": 0, "requests": 0}


def run_loadgen(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [PY, str(BENCH / "loadgen.py"), json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Bench:
    """One run's targets (their pids and ports), the scenarios run on them and their results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: list[dict[str, Any]] = []
        self.hold: dict[str, Any] | None = None
        self.profiles: dict[str, str] = {}
        self.extra_requests = 0  # sent through the gateway outside the recorded scenarios

    def configure(self, gw_pid: int, gw_port: int, up_pid: int, up_port: int, key: str) -> None:
        self.gw_pid, self.gw_port, self.up_pid, self.up_port, self.key = (
            gw_pid,
            gw_port,
            up_pid,
            up_port,
            key,
        )
        self.peer_pid: int | None = None
        self.peer_port = 0
        self.peer_version: str | None = None
        self.relay_pid: int | None = None
        self.relay_port = 0

    def add_relay(self, pid: int, port: int) -> None:
        self.relay_pid, self.relay_port = pid, port

    def add_peer(self, pid: int, port: int, version: str) -> None:
        self.peer_pid, self.peer_port, self.peer_version = pid, port, version

    def targets(self) -> tuple[str, ...]:
        relay = ("relay",) if self.relay_pid else ()
        return ("direct", *relay, "gateway", *(("peer",) if self.peer_pid else ()))

    def spec(self, target: str, stream: bool, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": MODEL,
            "messages": MESSAGES,
            "max_tokens": self.args.chunks,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if target == "gateway":
            where = {
                "port": self.gw_port,
                "path": f"{API}/chat/completions",
                "headers": {"Authorization": f"Bearer {self.key}"},
            }
        elif target == "relay":
            body["model"] = "gpt-5-mini"
            where = {
                "port": self.relay_port,
                "path": "/v1/chat/completions",
                "headers": {"Authorization": "Bearer relay"},
            }
        elif target == "peer":
            where = {
                "port": self.peer_port,
                "path": "/v1/chat/completions",
                "headers": {"Authorization": f"Bearer {peer.MASTER_KEY}"},
            }
        else:
            body["model"] = "gpt-5-mini"
            where = {
                "port": self.up_port,
                "path": "/v1/chat/completions",
                "headers": {"Authorization": "Bearer upstream"},
            }
        return {
            "host": "127.0.0.1",
            **where,
            "body": body,
            "expect_chunks": self.args.chunks,
            "watch_pids": {
                "gateway": self.gw_pid,
                "upstream": self.up_pid,
                "peer": self.peer_pid,
                "relay": self.relay_pid,
            },
            **extra,
        }

    def closed(self, target: str, stream: bool, concurrency: int) -> dict[str, Any]:
        spec = self.spec(
            target,
            stream,
            mode="closed",
            concurrency=concurrency,
            duration=self.args.duration,
            warmup=self.args.warmup,
            timeout=30.0,
        )
        before = upstream_stats(self.up_port)
        result = run_loadgen(spec, timeout=self.args.duration + self.args.warmup + 120)
        after = upstream_stats(self.up_port)
        result.update(target=target, stream=stream)
        upstream_requests = after["requests"] - before["requests"]
        if target != "direct" and upstream_requests:
            result["upstream_conns_per_req"] = (
                after["connections"] - before["connections"]
            ) / upstream_requests
        self.results.append(result)
        cpu = result["cpu_s"].get(target) if target != "direct" else None
        per = (
            f", {target} CPU {1000 * cpu / max(1, result['requests']):.2f} ms/req"
            if cpu is not None
            else ""
        )
        log(
            f"  {target:7s} {'stream' if stream else 'json':6s} c={concurrency:<3d} "
            f"{result['rps']:>8} req/s  p50 {result['latency_ms']['p50']} ms  "
            f"p99 {result['latency_ms']['p99']} ms  errors {result['errors']}{per}"
        )
        if result["errors"]:
            log(f"    error samples: {result['error_samples']}")
        return result

    def profile(self, stream: bool, concurrency: int) -> str | None:
        """py-spy (GIL holder only, so idle waits are not counted) over one extra, unrecorded
        scenario; returns the hot-spot summary of bench/hotspots.py."""
        exe = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
        if not Path(exe).exists():
            log("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
            return None
        name = f"profile-{'stream' if stream else 'json'}-c{concurrency}"
        raw = self.args.out.parent / f"{name}.txt"
        raw.parent.mkdir(parents=True, exist_ok=True)
        seconds = self.args.duration + self.args.warmup
        spy = subprocess.Popen(
            [
                exe,
                "record",
                "-p",
                str(self.gw_pid),
                "--gil",
                "--nonblocking",
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                str(raw),
                "-d",
                str(int(seconds + 1)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(0.5)
            spec = self.spec(
                "gateway",
                stream,
                mode="closed",
                concurrency=concurrency,
                duration=self.args.duration,
                warmup=self.args.warmup,
                timeout=30.0,
            )
            done = run_loadgen(spec, timeout=seconds + 120)
            self.extra_requests += done["requests"] + done["warmup_requests"] + done["errors"]
            _, err = spy.communicate(timeout=seconds + 60)
        finally:
            if spy.poll() is None:
                spy.kill()
                spy.wait()
        if spy.returncode != 0 or not raw.exists():
            log(f"py-spy failed: {err.strip()[-500:]}")
            return None
        summary = subprocess.run(
            [PY, str(BENCH / "hotspots.py"), str(raw), "--top", "15"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        log(f"  profile written to {raw}")
        return summary

    def held_open(self) -> dict[str, Any]:
        a = self.args
        streaming_s = a.chunks * a.hold_delay_ms / 1000
        spec = self.spec(
            "gateway",
            True,
            mode="hold",
            streams=a.hold_streams,
            timeout=a.hold_barrier_s + streaming_s + 60,
        )
        # Chunks paced `hold_delay_ms` apart, and held after the first one until every stream
        # is open (the gateway admits them one by one), so all of them are open at once.
        spec["body"]["bench_chunk_delay_ms"] = a.hold_delay_ms
        spec["body"]["bench_barrier"] = {
            "name": "hold",
            "parties": a.hold_streams,
            "timeout_s": a.hold_barrier_s,
        }
        spec["expect_chunks"] = a.chunks
        before_rss = rss_kb(self.gw_pid)
        before = upstream_stats(self.up_port)
        result = run_loadgen(spec, timeout=a.hold_barrier_s + streaming_s + 180)
        after = upstream_stats(self.up_port)
        result["rss_before_kb"] = before_rss
        result["upstream_connections_opened"] = after["connections"] - before["connections"]
        result["barrier"] = (after.get("barriers") or {}).get("hold")
        self.hold = result
        log(
            f"  held-open: {result['completed']}/{result['streams']} completed, peak open "
            f"{result['peak_open']}, errors {result['errors']}, gateway RSS peak "
            f"{(result['rss_peak_kb'] or 0) / 1024:.1f} MB"
        )
        if result["errors"]:
            log(f"    error samples: {result['error_samples']}")
        return result
