"""End to end with Simon Willison's `llm` CLI: the gateway as one of its "extra OpenAI models"
(an `extra-openai-models.yaml` with `api_base` and `api_key_name`, the key stored with
`llm keys set`), the offline `writingmate/echo` model, and what a user sees in the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Gateway
from tests.offline_gateway import offline_gateway

LLM = Path(sys.executable).parent / "llm"

pytestmark = pytest.mark.skipif(not LLM.exists(), reason="llm is not installed (pip install llm)")

Llm = Callable[..., subprocess.CompletedProcess[str]]


def configure(user_dir: Path, gateway: Gateway) -> None:
    """What the README tells an `llm` user to write, with this gateway's address."""
    (user_dir / "extra-openai-models.yaml").write_text(
        "- model_id: writingmate/echo\n"
        "  model_name: writingmate/echo\n"
        f"  api_base: {gateway.base_url}\n"
        "  api_key_name: writingmate\n"
    )


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Llm]:
    """`llm(*args)` runs the CLI against one gateway, in a user directory of its own."""
    user_dir = tmp_path_factory.mktemp("llm_user")
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["LLM_USER_PATH"] = str(user_dir)

    def run(*args: str, ok: bool = True, **extra_env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(LLM), *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode == 0) == ok, done.stderr
        return done

    with offline_gateway(tmp_path_factory.mktemp("llm_gateway"), migrated_template) as gateway:
        configure(user_dir, gateway)
        run("keys", "set", "writingmate", "--value", gateway.key)
        yield run


def stream_deltas(shown: str) -> list[str]:
    """The text deltas of the event stream that `LLM_OPENAI_SHOW_RESPONSES=1` shows."""
    deltas = []
    for line in shown.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line.removeprefix("data: "))["choices"]:
                deltas.append(choice["delta"].get("content") or "")
    return [delta for delta in deltas if delta]


def test_a_prompt_prints_the_echo_and_its_token_usage(llm: Llm) -> None:
    done = llm("-m", "writingmate/echo", "--no-stream", "--usage", "Hello from llm!")
    assert done.stdout == "Hello from llm!\n"
    assert done.stderr == "Token usage: 4 input, 4 output\n"


def test_a_streamed_prompt_prints_the_answer_assembled_from_several_chunks(llm: Llm) -> None:
    done = llm(
        "-m",
        "writingmate/echo",
        "--usage",
        "Stream these few words back",
        LLM_OPENAI_SHOW_RESPONSES="1",
    )
    assert done.stdout == "Stream these few words back\n"
    deltas = stream_deltas(done.stderr)
    assert len(deltas) > 3 and "".join(deltas) == "Stream these few words back"
    assert done.stderr.endswith("Token usage: 5 input, 5 output\n")  # the stream's usage chunk


def test_continue_sends_the_whole_conversation_as_the_second_turns_prompt(llm: Llm) -> None:
    llm("-m", "writingmate/echo", "My name is Ada")
    done = llm("-c", "--usage", "What is my name?")
    assert done.stdout == "What is my name?\n"
    # The first prompt and answer (4 tokens each) come along with the new question (5).
    assert done.stderr == "Token usage: 13 input, 5 output\n"
    [last] = json.loads(llm("logs", "--json", "-n", "1").stdout)
    assert (last["prompt"], last["response"], last["input_tokens"]) == (
        "What is my name?",
        "What is my name?",
        13,
    )


def test_a_wrong_key_prints_the_gateways_message(llm: Llm) -> None:
    done = llm("-m", "writingmate/echo", "--key", "wm_v2.nope", "Hi", ok=False)
    assert done.stdout == ""
    assert done.stderr == (
        "Error: Error code: 401 - Incorrect API key provided. "
        "You can create a new key with `wmgw key create`.\n"
    )
