"""The peer the benchmark compares the gateway with: LiteLLM proxy, the most used Python gateway.

Machines here differ in speed from one session to the next (pure-Python speed has been seen to
vary by a factor of two), so an absolute CPU figure means little on its own. LiteLLM proxy runs
in the same benchmark run, against the same fake upstream, with the same load generator, and the
report gives the gateway's CPU per request as a fraction of LiteLLM's.

LiteLLM is installed in its own virtualenv (`bench/.peer`, by `make bench`), pinned, so that its
many dependencies never meet the gateway's. It runs as its documentation's quick start runs it:
`litellm --config config.yaml`, one uvicorn worker, a master key and no database (so no spend
tracking: the lightest LiteLLM can be, while the gateway meters every request).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "bench" / ".peer"
LITELLM = PEER_VENV / "bin" / "litellm"
MASTER_KEY = "sk-bench-peer"


def ready_check(port: int) -> tuple[str, dict[str, str]]:
    """The URL and headers that answer 200 once LiteLLM serves."""
    return f"http://127.0.0.1:{port}/v1/models", {"Authorization": f"Bearer {MASTER_KEY}"}


def installed() -> bool:
    return LITELLM.exists()


def version() -> str:
    done = subprocess.run(
        [str(PEER_VENV / "bin" / "python"), "-c", "import importlib.metadata as m;"
         "print(m.version('litellm'))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


def write_config(directory: Path, model: str, upstream_port: int) -> Path:
    """One model, routed to the fake upstream exactly as the gateway's `model` is."""
    config = directory / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model.split('/', 1)[1]}\n"
        f"      api_base: http://127.0.0.1:{upstream_port}/v1\n"
        "      api_key: bench-upstream-key\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    return config


def command(config: Path, port: int) -> list[str]:
    return [
        str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
        "--num_workers", "1",
    ]  # fmt: skip


def environment(base: dict[str, str]) -> dict[str, str]:
    # No network here: use the model cost map shipped in the package instead of fetching it.
    return {**base, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
