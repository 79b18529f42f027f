"""The processes a benchmark run starts, each on its own so that their CPU is never mixed up:
the fake upstream, the gateway, the bare relay and LiteLLM proxy; waiting until they answer, and
stopping them all by pid. Also the `wmgw` calls that make the run's developer key."""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import peer
from paths import BENCH, PY, ROOT
from progress import log
from workload import MODEL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(want: int = 65536) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def wmgw(env: dict[str, str], *args: str) -> str:
    exe = ROOT / ".venv" / "bin" / "wmgw"
    command = [str(exe)] if exe.exists() else [PY, "-m", "cli"]
    done = subprocess.run(
        [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"wmgw {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout.strip().splitlines()[-1].strip()


class Processes:
    """The children we started; stopped in reverse order, by pid, whatever happens."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], **kwargs: Any) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, **kwargs)
        self.children.append((name, process))
        return process

    def stop_all(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def start_upstream(procs: Processes, logfile: Path) -> tuple[subprocess.Popen, int]:
    process = procs.start(
        "upstream",
        [PY, str(BENCH / "fake_upstream.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=logfile.open("wb"),
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("LISTENING "):
            return process, int(line.split()[1])
        if not line and process.poll() is not None:
            break
    raise RuntimeError(f"the fake upstream did not start; see {logfile}")


def start_gateway(
    procs: Processes, env: dict[str, str], logfile: Path
) -> tuple[subprocess.Popen, int]:
    """One worker, as `uvicorn --factory web.app:create_app_from_env` runs it (uvloop and
    httptools are picked automatically). One process, so its /proc numbers are the gateway's."""
    port = free_port()
    command = [
        PY, "-m", "uvicorn", "--factory", "web.app:create_app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = procs.start(
        "gateway", command, env=env, stdout=logfile.open("wb"), stderr=subprocess.STDOUT
    )
    return process, port


def start_relay(procs: Processes, env: dict[str, str], tmp: Path, up_port: int) -> tuple[int, int]:
    """The floor (bench/relay.py): a bare ASGI relay through the gateway's HTTP client, served
    as the gateway is; (pid, port)."""
    port, logfile = free_port(), tmp / "relay.log"
    command = [
        PY, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory", "relay:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    relay_env = {
        **env,
        "BENCH_UPSTREAM": f"http://127.0.0.1:{up_port}",
        "PYTHONPATH": str(ROOT),
    }
    process = procs.start(
        "relay", command, env=relay_env, stdout=logfile.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    log(f"bare relay pid {process.pid} on :{port}")
    return process.pid, port


def start_peer(
    procs: Processes, args: argparse.Namespace, env: dict[str, str], tmp: Path, up_port: int
) -> tuple[int, int, str] | None:
    """LiteLLM proxy on the same fake upstream (bench/peer.py), when installed;
    (pid, port, LiteLLM's version)."""
    if args.no_peer:
        return None
    if not peer.installed():
        log("LiteLLM is not installed in bench/.peer (make bench installs it): no peer figures")
        return None
    port, logfile = free_port(), tmp / "peer.log"
    config = peer.write_config(tmp, MODEL, up_port)
    process = procs.start(
        "peer",
        peer.command(config, port),
        env=peer.environment(env),
        stdout=logfile.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(process, *peer.ready_check(port), logfile, name="LiteLLM", timeout=120)
    if args.pin:
        os.sched_setaffinity(process.pid, {0})
    version = peer.version()
    log(f"LiteLLM {version} pid {process.pid} on :{port}")
    return process.pid, port, version


def wait_ready(
    process: subprocess.Popen,
    url: str,
    headers: dict[str, str],
    logfile: Path,
    name: str = "the gateway",
    timeout: float = 60,
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | str = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            response = httpx.get(url, headers=headers, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
    raise RuntimeError(f"{name} did not become ready ({last}); log tail:\n{tail}")
