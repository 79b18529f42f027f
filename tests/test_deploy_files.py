"""Every way of serving the gateway (`make serve`, deploy/wmgw.service, the Dockerfile,
compose.yaml) runs it the same way, and stops it slowly enough for streams to drain:
the gateway's drain, then gunicorn's graceful timeout, then the supervisor's kill."""

from __future__ import annotations

import re

import pytest
import yaml

from gateway.settings import REPO_ROOT, Settings

GRACEFUL_TIMEOUT = 30  # gunicorn's --graceful-timeout everywhere
SERVING = {
    "make serve": (REPO_ROOT / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n")[0],
    "deploy/wmgw.service": (REPO_ROOT / "deploy" / "wmgw.service").read_text(),
    "Dockerfile": (REPO_ROOT / "Dockerfile").read_text(),
}
COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


@pytest.mark.parametrize("where", sorted(SERVING))
def test_each_way_of_serving_runs_migrations_the_gateway_worker_and_its_settings(
    where: str,
) -> None:
    command = SERVING[where]
    assert "wmgw migrate" in command
    assert "web.app:create_app_from_env()" in command
    assert "-k web.worker.GatewayWorker" in command
    assert "-c python:web.gunicorn_conf" in command  # JSON logs, metrics of every worker
    assert f"--graceful-timeout {GRACEFUL_TIMEOUT}" in command


def test_streams_drain_before_gunicorn_ends_its_workers_and_before_anything_is_killed() -> None:
    unit = SERVING["deploy/wmgw.service"]
    systemd_wait = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)[1])  # type: ignore[index]
    compose_wait = int(COMPOSE["services"]["gateway"]["stop_grace_period"].removesuffix("s"))
    drain_seconds = Settings.from_env({"WMGW_SERVER_SECRET": "unused"}).drain_seconds
    assert drain_seconds < GRACEFUL_TIMEOUT < systemd_wait
    assert compose_wait > GRACEFUL_TIMEOUT
    assert "--stop-timeout 40" in SERVING["Dockerfile"]


def test_compose_starts_the_gateway_on_a_healthy_database_and_checks_its_readiness() -> None:
    gateway, db = COMPOSE["services"]["gateway"], COMPOSE["services"]["db"]
    assert gateway["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
    assert "/readyz" in SERVING["Dockerfile"].split("HEALTHCHECK", 1)[1]
