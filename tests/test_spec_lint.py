"""openapi.yaml lints clean with Redocly CLI (pinned in tests/node/package.json) and the
repository's rules (redocly.yaml): OpenAPI 3.1's structure, examples valid for their schemas,
no unused component, one tag and a camelCase operationId per operation. `make test` runs
`npm ci` in tests/node first; without `node`, or with Redocly not installed, these tests are
skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.settings import REPO_ROOT

REDOCLY = REPO_ROOT / "tests" / "node" / "node_modules" / ".bin" / "redocly"
RULES = REPO_ROOT / "redocly.yaml"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not REDOCLY.exists(), reason="Redocly CLI is not installed (npm ci --prefix tests/node)"
    ),
]


def lint(spec: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    return subprocess.run(
        [str(REDOCLY), "lint", str(spec), "--config", str(RULES), "--format", "stylish"],
        cwd=spec.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_spec_lints_clean_with_the_repository_s_rules() -> None:
    done = lint(REPO_ROOT / "openapi.yaml")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_the_rules_refuse_an_operation_id_that_is_not_camel_case(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    text = (REPO_ROOT / "openapi.yaml").read_text()
    spec.write_text(text.replace("operationId: getUsage", "operationId: handlers.usage.get_usage"))
    done = lint(spec)
    assert done.returncode != 0
    assert "rule/operation-id-camel-case" in done.stdout
