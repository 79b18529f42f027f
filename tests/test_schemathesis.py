"""Schemathesis fuzzes every operation of the served spec with all its checks and finds nothing;
statefully too, following the spec's links from each resource to the operations that use it
(a created response to its GET, its DELETE and a continuation, a video to its status and
content, an image's URL to its file, a model's id to its GET)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Gateway

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).parent / "schemathesis.toml"
# The paths of each resource and what follows from it. Schemathesis starts its chains only
# from operations it expects to succeed with random data, and it expects POST /responses and
# POST /videos to fail: their optional `previous_response_id` and `input_reference.file_id`
# look like references to resources nothing produces. With GET /models and POST
# /images/generations in the same run, chains would never start from those two.
RESOURCES = ["^/models", "^/responses", "^/images/", "^/videos"]
LINKS = re.compile(r"API Links:\s+(\d+) covered / (\d+) selected")


def schemathesis(gateway: Gateway, *options: str) -> str:
    """Its output, once it has passed."""
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{gateway.base_url}/openapi.json",
            "--checks",
            "all",
            "-H",
            f"Authorization: Bearer {gateway.key}",
            "--max-examples",
            "40",
            "--request-timeout",
            "10",  # bounds SSE responses (schemathesis#3633)
            "--seed",
            "20261122",
            "--no-color",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result.stdout


def test_schemathesis_finds_no_failure_in_any_operation(gateway: Gateway) -> None:
    output = schemathesis(gateway)
    assert "Examples" in output and "⏭  3 skipped" not in output
    assert "✅ Stateful" in output


@pytest.mark.parametrize("paths", RESOURCES)
def test_schemathesis_follows_every_link_of_a_resource_and_finds_no_failure(
    gateway: Gateway, paths: str
) -> None:
    output = schemathesis(gateway, "--phases", "stateful", "--include-path-regex", paths)
    links = LINKS.search(output)
    assert links is not None, output[-3000:]
    covered, selected = links.groups()
    assert int(selected) > 0 and covered == selected, links.group(0)
