"""deploy/nginx.conf run for the tests: a private nginx on a free loopback port in front of a
gateway, from a temporary directory (its pid, logs and temporary files there, so no root is
needed), the committed site file included with only its two addresses changed.

    with local_nginx(gateway_address="127.0.0.1:8123") as url:   # "http://127.0.0.1:PORT"
        httpx.get(f"{url}/healthz")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
LISTEN = "listen 80;"
UPSTREAM = "server 127.0.0.1:8000;"

MAIN = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/wmgw.conf;
}}
"""


def server_bin() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_for(port: int, gateway_address: str) -> str:
    """deploy/nginx.conf listening on loopback `port`, proxying to `gateway_address`."""
    site = SITE.read_text()
    if site.count(LISTEN) != 1 or site.count(UPSTREAM) != 1:
        raise ValueError(f"{SITE} must have one `{LISTEN}` and one `{UPSTREAM}`")
    return site.replace(LISTEN, f"listen 127.0.0.1:{port};").replace(
        UPSTREAM, f"server {gateway_address};"
    )


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nginx did not start in {timeout} s")


@contextmanager
def local_nginx(gateway_address: str, timeout: float = 10) -> Iterator[str]:
    """Start nginx in front of `gateway_address` (`host:port`); yield its base URL."""
    binary = server_bin()
    if binary is None:
        raise RuntimeError("nginx is not installed (tests/services/ensure-nginx.sh)")
    root = Path(tempfile.mkdtemp(prefix="wmgw-nginx-"))
    root.chmod(0o755)  # run as root, nginx's workers are `nobody` and read their files here
    port = _free_port()
    (root / "wmgw.conf").write_text(site_for(port, gateway_address))
    (root / "nginx.conf").write_text(MAIN.format(root=root))
    log = root / "error.log"
    command = [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(log)]
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(port, process, log, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
