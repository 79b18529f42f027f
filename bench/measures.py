"""Figures read off the load generator's results: one scenario's result, CPU per request by
process, the latency the gateway adds over direct, and the load of processes outside the
benchmark. Shared by the report and the verdicts against the targets."""

from __future__ import annotations

from typing import Any

from scenarios import Bench


def find(results: list[dict[str, Any]], target: str, stream: bool, c: int) -> dict[str, Any] | None:
    for r in results:
        if r["target"] == target and r["stream"] == stream and r["concurrency"] == c:
            return r
    return None


def cpu_per_req(r: dict[str, Any] | None, who: str = "gateway") -> float | None:
    if not r or not r["requests"] or r["cpu_s"].get(who) is None:
        return None
    return 1000 * r["cpu_s"][who] / r["requests"]


def sys_per_req(r: dict[str, Any], who: str = "gateway") -> float | None:
    value = (r.get("sys_s") or {}).get(who)
    return None if value is None or not r["requests"] else 1000 * value / r["requests"]


def other_load(r: dict[str, Any], ncpu: int) -> float:
    """Cores used by processes outside the benchmark during the phase."""
    ours = sum(v for v in r["cpu_s"].values() if v is not None)
    return max(0.0, r["machine_busy"] * ncpu - ours / max(1e-9, r["elapsed_s"]))


def added(g: dict[str, Any], d: dict[str, Any], what: str) -> float | None:
    if g[what]["p50"] is None or d[what]["p50"] is None:
        return None
    return g[what]["p50"] - d[what]["p50"]


def cpu_beside_peer(
    bench: Bench, stream: bool, c: int
) -> tuple[dict[str, Any], dict[str, Any], float, float] | None:
    """The gateway's and LiteLLM's results for one scenario, with their CPU ms per request."""
    g, p = find(bench.results, "gateway", stream, c), find(bench.results, "peer", stream, c)
    gc, pc = cpu_per_req(g), cpu_per_req(p, "peer")
    return (g, p, gc, pc) if g and p and gc and pc else None
