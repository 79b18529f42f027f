"""One settings object, built once at the entry point from the environment and passed down."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var"


@dataclass(frozen=True)
class VideoSettings:
    """From the environment (`WMGW_VIDEO_*`); see the README."""

    poll_seconds: float = 5.0  # how often the worker refreshes an active job
    deadline_seconds: int = 2 * 3600  # a job not done by then fails (and gives its seconds back)
    lease_seconds: float = 120.0  # how long one process may hold a job while polling it
    submit_seconds: int = 900  # how long a create may wait on the upstream before it is undone
    batch: int = 32  # jobs taken per round per process
    concurrency: int = 8  # of them, polled at once (each then holds a database connection)
    worker: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> VideoSettings:
        return cls(
            poll_seconds=float(env.get("WMGW_VIDEO_POLL_SECONDS", cls.poll_seconds)),
            deadline_seconds=int(env.get("WMGW_VIDEO_DEADLINE_SECONDS", cls.deadline_seconds)),
            lease_seconds=float(env.get("WMGW_VIDEO_LEASE_SECONDS", cls.lease_seconds)),
            worker=env.get("WMGW_VIDEO_WORKER", "1") != "0",
        )


@dataclass(frozen=True)
class IdempotencySettings:
    """From the environment (`WMGW_IDEMPOTENCY_*`); see the README."""

    # How long a running request's key stays its own without a heartbeat: a retry arriving
    # after its process died waits this long at most before running the request again.
    lease_seconds: float = 30.0
    ttl_seconds: int = 24 * 3600  # how long a key's answer is replayed
    # The largest answer kept for a replay; a larger one is not replayed (its retries get 409).
    max_response_bytes: int = 16 * 1024 * 1024
    purge_seconds: float = 600.0  # how often each process deletes expired keys

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IdempotencySettings:
        return cls(
            lease_seconds=float(env.get("WMGW_IDEMPOTENCY_LEASE_SECONDS", cls.lease_seconds)),
            ttl_seconds=int(env.get("WMGW_IDEMPOTENCY_TTL_SECONDS", cls.ttl_seconds)),
            max_response_bytes=int(
                env.get("WMGW_IDEMPOTENCY_MAX_RESPONSE_BYTES", cls.max_response_bytes)
            ),
        )


@dataclass(frozen=True)
class DiscoverySettings:
    """How the gateway finds models by itself (docs/providers/discovery.md); 0 turns either off."""

    # OpenRouter's list (`discover: openrouter` rows): fetched anew once it is this old, and
    # kept in the database for every process (`WMGW_OPENROUTER_SYNC_SECONDS`).
    openrouter_sync_seconds: float = 6 * 3600
    # Local servers (`discover: openai` rows: Ollama, vLLM, llama.cpp): how often each process
    # asks them for their models (`WMGW_DISCOVERY_SECONDS`).
    local_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DiscoverySettings:
        return cls(
            openrouter_sync_seconds=float(
                env.get("WMGW_OPENROUTER_SYNC_SECONDS", cls.openrouter_sync_seconds)
            ),
            local_seconds=float(env.get("WMGW_DISCOVERY_SECONDS", cls.local_seconds)),
        )


@dataclass(frozen=True)
class LogSettings:
    """From the environment (`WMGW_LOG_*`); see docs/operations.md."""

    format: str = "json"  # json: one JSON object a line; text: for a terminal (`make run`)
    level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LogSettings:
        log_format = env.get("WMGW_LOG_FORMAT", cls.format).lower()
        if log_format not in ("json", "text"):
            raise ValueError(f"WMGW_LOG_FORMAT must be json or text, not {log_format!r}")
        return cls(format=log_format, level=env.get("WMGW_LOG_LEVEL", cls.level).upper())


@dataclass(frozen=True)
class Settings:
    database_url: str
    server_secret: bytes
    catalog_path: Path = REPO_ROOT / "catalog.yaml"
    spec_path: Path = REPO_ROOT / "openapi.yaml"
    max_body_bytes: int = 32 * 1024 * 1024
    upstream_max_connections: int = 4096
    # The largest whole answer read from an upstream (streams are read as they come); each
    # provider's deadlines are its catalog row's and the environment's (domain/deadlines.py).
    upstream_max_body_bytes: int = 64 * 1024 * 1024
    validate_responses: bool = False
    key_cache_seconds: float = 2.0
    # A request in flight is recorded with a lease its process renews (a third of it at a
    # time); once a lease runs out (its process died), any process settles it.
    reservation_lease_seconds: float = 30.0
    # After a stop signal, requests still running this long are ended and settled by the
    # gateway; keep it below the server's graceful timeout (30 s in `make run`/`make serve`).
    drain_seconds: float = 25.0
    videos: VideoSettings = field(default_factory=VideoSettings)
    idempotency: IdempotencySettings = field(default_factory=IdempotencySettings)
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    # Environment variables the provider rows name (their keys and base URLs).
    environ: Mapping[str, str] = field(default_factory=dict)
    # Generated images served for `response_format: url`: where, for how long, under which URL.
    image_dir: Path = DEFAULT_DATA_DIR / "images"
    image_url_ttl_seconds: int = 3600
    public_url: str | None = None  # e.g. https://gateway.example.com; else the request's host
    redis_url: str | None = None  # rate-limit buckets in Redis; else in the database
    logs: LogSettings = field(default_factory=LogSettings)
    # prometheus_client's multiprocess mode (gunicorn): every worker's metrics in files there.
    metrics_dir: Path | None = None
    metrics_token: str | None = field(default=None, repr=False)  # /metrics wants it if set

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("WMGW_DATA_DIR", DEFAULT_DATA_DIR))
        return cls(
            database_url=env.get("DATABASE_URL")
            or f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}",
            server_secret=_server_secret(env, data_dir),
            catalog_path=Path(env.get("WMGW_CATALOG", REPO_ROOT / "catalog.yaml")),
            max_body_bytes=int(env.get("WMGW_MAX_BODY_BYTES", 32 * 1024 * 1024)),
            upstream_max_body_bytes=int(env.get("WMGW_UPSTREAM_MAX_BODY_BYTES", 64 * 1024 * 1024)),
            validate_responses=env.get("WMGW_VALIDATE_RESPONSES", "") == "1",
            key_cache_seconds=float(env.get("WMGW_KEY_CACHE_SECONDS", 2.0)),
            reservation_lease_seconds=float(env.get("WMGW_RESERVATION_LEASE_SECONDS", 30.0)),
            drain_seconds=float(env.get("WMGW_DRAIN_SECONDS", 25.0)),
            videos=VideoSettings.from_env(env),
            idempotency=IdempotencySettings.from_env(env),
            discovery=DiscoverySettings.from_env(env),
            environ=env,
            image_dir=Path(env.get("WMGW_IMAGE_DIR") or data_dir / "images"),
            image_url_ttl_seconds=int(env.get("WMGW_IMAGE_URL_TTL_SECONDS", 3600)),
            public_url=(env.get("WMGW_PUBLIC_URL") or "").rstrip("/") or None,
            redis_url=env.get("REDIS_URL") or None,
            logs=LogSettings.from_env(env),
            metrics_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"])
            if env.get("PROMETHEUS_MULTIPROC_DIR")
            else None,
            metrics_token=env.get("WMGW_METRICS_TOKEN") or None,
        )


def _server_secret(env: Mapping[str, str], data_dir: Path) -> bytes:
    """`WMGW_SERVER_SECRET`, or for the embedded default one generated on first run and kept
    with the data (so keys survive restarts and stay bound to this installation)."""
    if env.get("WMGW_SERVER_SECRET"):
        return env["WMGW_SERVER_SECRET"].encode()
    path = data_dir / "server-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        staged = path.with_suffix(f".{os.getpid()}")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:  # first writer wins, atomically, when several processes start at once
            os.link(staged, path)
        except FileExistsError:
            pass
        finally:
            staged.unlink()
    return path.read_text().strip().encode()
