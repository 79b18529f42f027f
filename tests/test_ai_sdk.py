"""End to end with the Vercel AI SDK (`ai`) and `@ai-sdk/openai-compatible`, pinned in
tests/node/package.json: the way OpenCode reaches a custom OpenAI-compatible provider, against a
real gateway on loopback with the offline `writingmate/echo` model. `make test` runs `npm ci`
in tests/node first; without `node`, or with the packages not installed, these are skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Gateway
from tests.offline_gateway import offline_gateway

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@ai-sdk" / "openai-compatible").is_dir(),
        reason="the AI SDK is not installed (npm ci --prefix tests/node)",
    ),
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Gateway]:
    with offline_gateway(tmp_path_factory.mktemp("ai_sdk"), migrated_template) as running:
        yield running


def observe(gateway: Gateway, scenario: str) -> Any:
    """Run one scenario of tests/node/ai_sdk_checks.mjs; what the SDK returned or raised."""
    env = {**os.environ, "GATEWAY_URL": gateway.base_url, "GATEWAY_KEY": gateway.key}
    result = subprocess.run(
        [str(NODE), "ai_sdk_checks.mjs", scenario],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_generate_text_gets_the_echo_with_usage_and_metering_headers(gw: Gateway) -> None:
    seen = observe(gw, "generate")
    assert seen["text"] == "Hello from the AI SDK!"
    assert (seen["finish_reason"], seen["model"]) == ("stop", "writingmate/echo")
    assert seen["usage"] == {"input": 6, "output": 6, "total": 12}
    assert seen["counted"] == "1"


def test_stream_text_assembles_the_answer_from_several_deltas_and_reports_usage(
    gw: Gateway,
) -> None:
    seen = observe(gw, "stream")
    assert len(seen["deltas"]) > 3
    assert "".join(seen["deltas"]) == seen["text"] == "Stream these few words back"
    assert seen["finish_reason"] == "stop"
    # The system message counts in the prompt: "Be brief." is three tokens.
    assert seen["usage"] == {"input": 5 + 3, "output": 5, "total": 13}


def test_a_tool_named_in_the_prompt_comes_back_as_a_typed_tool_call(gw: Gateway) -> None:
    seen = observe(gw, "tool_call")
    assert seen == {"finish_reason": "tool-calls", "calls": [["get_weather", {"city": "Paris"}]]}


def test_an_unknown_model_raises_the_sdks_api_call_error_with_the_gateways_message(
    gw: Gateway,
) -> None:
    seen = observe(gw, "unknown_model")
    assert (seen["raised"], seen["status"]) == ("APICallError", 404)
    assert "writingmate/nope" in seen["message"]
