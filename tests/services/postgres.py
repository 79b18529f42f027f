"""A private PostgreSQL server on loopback for the tests, started and stopped by them.

It runs as the `postgres` system user when the tests run as root (PostgreSQL refuses root),
with trust authentication on 127.0.0.1 only, fsync off, in a temporary directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def local_postgres() -> Iterator[str]:
    """Start a throwaway server; yield its admin URL (`postgresql://postgres@127.0.0.1:PORT/postgres`)."""
    bin_dir = server_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (tests/services/ensure-postgres.sh)")
    root = Path(tempfile.mkdtemp(prefix="wmgw-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()

    def run(program: str, *args: str) -> None:
        command = _as_server_user([str(bin_dir / program), *args])
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
