"""End to end with the official `openai` Node SDK (pinned in tests/node/package.json): what a
Node user of the SDK observes against a real gateway on loopback. `make test` runs `npm ci`
in tests/node first; without `node`, or with the SDK not installed, these tests are skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Gateway

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "openai").is_dir(),
        reason="the openai Node SDK is not installed (npm ci --prefix tests/node)",
    ),
]


def observe(gateway: Gateway, scenario: str) -> Any:
    """Run one scenario of tests/node/sdk_checks.mjs; what the SDK returned or raised."""
    env = {**os.environ, "GATEWAY_URL": gateway.base_url, "GATEWAY_KEY": gateway.key}
    result = subprocess.run(
        [str(NODE), "sdk_checks.mjs", scenario],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_node_sdk_lists_the_models(gateway: Gateway) -> None:
    assert "writingmate/echo" in observe(gateway, "models")["ids"]


def test_node_sdk_gets_a_completion_with_usage_and_metering_headers(gateway: Gateway) -> None:
    seen = observe(gateway, "completion")
    assert (seen["object"], seen["model"]) == ("chat.completion", "writingmate/echo")
    assert (seen["content"], seen["finish_reason"]) == ("Hello from Node!", "stop")
    assert seen["usage"]["prompt_tokens"] == seen["usage"]["completion_tokens"] == 4
    assert seen["counted"] == "1" and seen["request_id"].startswith("req_")
    [row] = gateway.ledger()
    assert row["request_id"] == seen["request_id"]


def test_node_sdk_streams_chunks_and_the_usage_chunk(gateway: Gateway) -> None:
    seen = observe(gateway, "stream")
    assert seen["text"] == "Hello from Node!" and seen["chunks"] > 3
    assert seen["finish_reason"] == "stop"
    assert seen["usage"]["total_tokens"] == 8


def test_node_sdk_stream_helper_assembles_a_tool_call(gateway: Gateway) -> None:
    seen = observe(gateway, "tools")
    assert seen == {
        "finish_reason": "tool_calls",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
        "id_prefix": "call_",
    }


def test_node_sdk_raises_its_own_error_classes(gateway: Gateway) -> None:
    seen = observe(gateway, "errors")
    assert seen["unknown_model"] == {
        "raised": "NotFoundError",
        "status": 404,
        "code": "model_not_found",
        "param": "model",
        "type": "invalid_request_error",
    }
    assert seen["bad_value"]["raised"] == "BadRequestError"
    assert seen["bad_value"]["param"] == "n"
    assert (seen["bad_key"]["raised"], seen["bad_key"]["code"]) == (
        "AuthenticationError",
        "invalid_api_key",
    )


def test_node_sdk_decodes_default_base64_embeddings(gateway: Gateway) -> None:
    seen = observe(gateway, "embeddings")
    assert seen["lengths"] == [256, 256] and seen["is_array"]
    assert seen["norm"] == pytest.approx(1, abs=1e-6)
    assert seen["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert seen["short_lengths"] == [16, 16]
