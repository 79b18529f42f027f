"""The targets the gateway is held to, and each one's verdict (PASS or MISS) for a run: added
latency, CPU per request (absolute, against the bare relay's and against LiteLLM's), the slowest
answers, and the held-open streams."""

from __future__ import annotations

from typing import Any

from measures import added, cpu_beside_peer, cpu_per_req, find
from scenarios import Bench

TARGETS = {
    "tail_ratio": 2.0,  # p99 within 2x p50 at concurrency 16 and 64
    "relay_ratio": 3.0,  # gateway CPU per request within 3x the bare relay's
    "added_p50_ms": 1.5,
    "cpu_nonstream_ms": 1.5,
    "cpu_stream_ms": 3.0,
    "hold_rss_mb": 250.0,
}
PEER_CPU_MS = 6.0  # the scale: "the most used Python peer needs about 6 ms of CPU"


def verdict(target: str, measured: str, ok: bool, value: float) -> dict[str, Any]:
    return {"target": target, "measured": measured, "ok": ok, "value": value}


def relative_to_peer(bench: Bench) -> list[dict[str, Any]]:
    """The CPU target as the issue set it, relative to its peer (1.5 ms against LiteLLM's
    "about 6 ms"), so that it means the same on a slower or a faster machine."""
    share = TARGETS["cpu_nonstream_ms"] / PEER_CPU_MS
    pairs = {c: cpu_beside_peer(bench, False, c) for c in bench.args.concurrency}
    ratios = {c: pair[2] / pair[3] for c, pair in pairs.items() if pair}
    if not ratios:
        return []
    worst = max(ratios.values())
    return [
        verdict(
            f"gateway CPU per non-streaming request <= {share:.2f} of LiteLLM's in the same run "
            f"({TARGETS['cpu_nonstream_ms']} ms against its about {PEER_CPU_MS:g} ms)",
            ", ".join(f"c={c}: {v:.2f}" for c, v in ratios.items()),
            worst <= share,
            worst,
        )
    ]


def against_floor(bench: Bench) -> list[dict[str, Any]]:
    """The gateway's CPU per request as a multiple of the bare relay's, same run."""
    limit = TARGETS["relay_ratio"]
    out = []
    for stream, kind in (
        (False, "non-streaming request"),
        (True, f"{bench.args.chunks}-chunk stream"),
    ):
        ratios = {}
        for c in bench.args.concurrency:
            g = cpu_per_req(find(bench.results, "gateway", stream, c))
            r = cpu_per_req(find(bench.results, "relay", stream, c), "relay")
            if g and r:
                ratios[c] = (g / r, r)
        if ratios:
            worst = max(ratio for ratio, _ in ratios.values())
            shown = ", ".join(
                f"c={c}: {ratio:.2f} (relay {floor:.2f} ms)" for c, (ratio, floor) in ratios.items()
            )
            out.append(verdict(
                f"gateway CPU per {kind} <= {limit:g} x the bare relay's (same client, same run)",
                shown, worst <= limit, worst,
            ))  # fmt: skip
    return out


def tails(bench: Bench) -> list[dict[str, Any]]:
    """The slowest answers: the gateway's p99 as a multiple of its p50 (whole answers, streams
    included), at each concurrency above 1."""
    limit = TARGETS["tail_ratio"]
    out = []
    for stream, kind in ((False, "non-streaming"), (True, "streaming")):
        ratios = {}
        for c in bench.args.concurrency:
            found = find(bench.results, "gateway", stream, c)
            latency = (found or {}).get("latency_ms") or {}
            if c > 1 and latency.get("p50") and latency.get("p99"):
                ratios[c] = latency["p99"] / latency["p50"]
        if ratios:
            worst = max(ratios.values())
            shown = ", ".join(f"c={c}: {v:.2f}" for c, v in ratios.items())
            out.append(verdict(
                f"gateway p99 <= {limit:g} x p50 ({kind}, concurrency above 1)",
                shown, worst <= limit, worst,
            ))  # fmt: skip
    return out


def verdicts(bench: Bench) -> list[dict[str, Any]]:
    results, args = bench.results, bench.args
    out = []
    limit = TARGETS["added_p50_ms"]
    for stream, what, label in ((False, "latency_ms", "latency"), (True, "ttfb_ms", "TTFB")):
        d, g = find(results, "direct", stream, 1), find(results, "gateway", stream, 1)
        extra = added(g, d, what) if d and g else None
        if extra is not None:
            kind = "streaming" if stream else "non-streaming"
            out.append(verdict(
                f"added {label} p50 at concurrency 1 ({kind}) <= {limit} ms",
                f"{extra:.2f} ms", extra <= limit, extra,
            ))  # fmt: skip
    for stream, key, label in (
        (False, "cpu_nonstream_ms", "non-streaming request"),
        (True, "cpu_stream_ms", f"{args.chunks}-chunk stream"),
    ):
        per = {c: cpu_per_req(find(results, "gateway", stream, c)) for c in args.concurrency}
        per = {c: v for c, v in per.items() if v is not None}
        if per:
            worst = max(per.values())
            shown = ", ".join(f"c={c}: {v:.2f}" for c, v in per.items())
            out.append(verdict(
                f"gateway CPU per {label} <= {TARGETS[key]} ms (at every concurrency)",
                f"{shown} ms", worst <= TARGETS[key], worst,
            ))  # fmt: skip
    out += tails(bench)
    out += against_floor(bench)
    out += relative_to_peer(bench)
    h = bench.hold
    if h:
        peak = (h["rss_peak_kb"] or 0) / 1024
        n = h["streams"]
        ok = h["completed"] == n and h["peak_open"] == n and peak < TARGETS["hold_rss_mb"]
        out.append(verdict(
            f"{n} concurrent streams, all complete, under {TARGETS['hold_rss_mb']:.0f} MB RSS",
            f"{h['completed']}/{n} completed, {h['peak_open']} open at once, "
            f"RSS peak {peak:.1f} MB", ok, peak,
        ))  # fmt: skip
    return out
