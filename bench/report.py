"""The markdown report of a benchmark run (bench/results/latest.md) and its raw numbers
(latest.json): the tables for non-streaming and streaming answers, the gateway beside LiteLLM,
CPU by process, the held-open streams, and the verdicts against the targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measures import added, cpu_beside_peer, cpu_per_req, find, other_load, sys_per_req
from scenarios import Bench
from targets import verdicts
from workload import MODEL


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def mb(kb: int | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.1f}"


def table(header: list[str], rows: list[list[Any]], align: str = "") -> list[str]:
    """A markdown table; `align` has one letter per column, l or r (default r, first l)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(str(c) for c in line) + " |" for line in [header, rule, *rows]] + [""]


def report(bench: Bench, meta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The markdown report, and the raw numbers for latest.json."""
    args, results = bench.args, bench.results
    checked = verdicts(bench)
    out = [
        *heading(bench, meta),
        *non_streaming(bench),
        *streaming(bench),
        *against_peer(bench, meta),
        *by_process(results, meta["nproc"]),
        *held_open(bench),
        *memory(meta),
        *verdict_table(checked),
        *caveat(results, meta["nproc"]),
        *hot_spots(bench.profiles),
    ]
    data = {
        "meta": meta,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "results": results,
        "hold": bench.hold,
        "targets": checked,
        "profiles": bench.profiles,
    }
    return "\n".join(out) + "\n", data


def heading(bench: Bench, meta: dict[str, Any]) -> list[str]:
    args = bench.args
    return [
        f"## Results ({meta['started']})",
        "",
        f"- Command: `{meta['command']}`",
        f"- Machine: {meta['nproc']} CPUs ({meta['cpu']}), {meta['mem_gb']:.1f} GB RAM, "
        f"Linux {meta['kernel']}, Python {meta['python']}",
        "- Gateway: one uvicorn worker (uvloop, httptools), SQLite, auth + quota + ledger on, "
        f"`{MODEL}` routed to the fake upstream",
        f"- Each scenario: {args.warmup:g} s warm-up, then {args.duration:g} s recorded; "
        f"{args.chunks} content chunks per answer",
        f"- Machine already busy before the run: {100 * meta['idle_check_busy']:.0f}%",
        "",
    ]


def non_streaming(bench: Bench) -> list[str]:
    out = ["### Non-streaming (`stream: false`), latency in ms", ""]
    rows = []
    for c in bench.args.concurrency:
        d, g = find(bench.results, "direct", False, c), find(bench.results, "gateway", False, c)
        if d and g:
            dl, gl = d["latency_ms"], g["latency_ms"]
            rows.append([
                c, f"{d['rps']:.0f}", f"{g['rps']:.0f}", fmt(dl["p50"]), fmt(gl["p50"]),
                fmt(added(g, d, "latency_ms")), fmt(dl["p99"]), fmt(gl["p99"]),
                fmt(cpu_per_req(g)), fmt(g.get("upstream_conns_per_req")),
                d["errors"] + g["errors"],
            ])  # fmt: skip
    return out + table(
        ["conc", "direct req/s", "gateway req/s", "direct p50", "gateway p50", "added p50",
         "direct p99", "gateway p99", "gateway CPU ms/req", "upstream conns/req", "errors"],
        rows,
    )  # fmt: skip


def streaming(bench: Bench) -> list[str]:
    out = [
        f"### Streaming (`stream: true`, {bench.args.chunks} chunks), in ms; "
        "TTFB = request sent -> first body byte",
        "",
    ]
    rows = []
    for c in bench.args.concurrency:
        d, g = find(bench.results, "direct", True, c), find(bench.results, "gateway", True, c)
        if d and g:
            dt, gt = d["ttfb_ms"], g["ttfb_ms"]
            rows.append([
                c, f"{d['rps']:.0f}", f"{g['rps']:.0f}", fmt(dt["p50"]), fmt(gt["p50"]),
                fmt(added(g, d, "ttfb_ms")), fmt(dt["p99"]), fmt(gt["p99"]),
                fmt(d["latency_ms"]["p50"]), fmt(g["latency_ms"]["p50"]), fmt(cpu_per_req(g)),
                fmt(g.get("upstream_conns_per_req")), d["errors"] + g["errors"],
            ])  # fmt: skip
    return out + table(
        ["conc", "direct req/s", "gateway req/s", "direct TTFB p50", "gateway TTFB p50",
         "added TTFB p50", "direct TTFB p99", "gateway TTFB p99", "direct total p50",
         "gateway total p50", "gateway CPU ms/stream", "upstream conns/req", "errors"],
        rows,
    )  # fmt: skip


def by_process(results: list[dict[str, Any]], ncpu: int) -> list[str]:
    out = ["### CPU per request by process, and the machine", ""]
    rows = []
    for r in results:
        rows.append([
            f"{r['target']} {'stream' if r['stream'] else 'json'} c={r['concurrency']}",
            fmt(cpu_per_req(r, r["target"])) if r["target"] != "direct" else "–",
            fmt(sys_per_req(r, r["target"])) if r["target"] != "direct" else "–",
            fmt(cpu_per_req(r, "upstream")), fmt(cpu_per_req(r, "loadgen")),
            f"{100 * r['machine_busy']:.0f}%", f"{other_load(r, ncpu):.2f}",
        ])  # fmt: skip
    return out + table(
        ["scenario", "gateway or peer ms", "of which kernel ms", "fake upstream ms",
         "load generator ms", "machine busy", "other processes (cores)"],
        rows,
    )  # fmt: skip


def held_open(bench: Bench) -> list[str]:
    args, h = bench.args, bench.hold
    if not h:
        return []
    gateway_cpu = h["cpu_s"].get("gateway")
    out = [
        f"### {h['streams']} concurrent streams held open through the gateway "
        f"({args.chunks} chunks, {args.hold_delay_ms:g} ms apart)",
        "",
    ]
    out += table(
        ["streams", "completed", "errors", "peak open at once", "all open after s", "wall s",
         "TTFB p50 ms", "TTFB p99 ms", "gateway RSS before MB", "gateway RSS peak MB",
         "gateway CPU ms/stream", "upstream connections opened"],
        [[h["streams"], h["completed"], h["errors"], h["peak_open"],
          fmt(h.get("all_open_after_s"), 1), f"{h['elapsed_s']:.1f}", fmt(h["ttfb_ms"]["p50"]),
          fmt(h["ttfb_ms"]["p99"]), mb(h["rss_before_kb"]), mb(h["rss_peak_kb"]),
          fmt(None if gateway_cpu is None else 1000 * gateway_cpu / max(1, h["streams"])),
          h["upstream_connections_opened"]]],
    )  # fmt: skip
    out += [
        "Each stream's first chunk is sent at once; the fake upstream then holds the rest "
        f"until all {h['streams']} streams are open (barrier: {h.get('barrier')})"
        " and sends them "
        f"{args.hold_delay_ms:g} ms apart. TTFB here is mostly waiting to be admitted while "
        "the other streams are being set up.",
        "",
    ]
    if h["error_samples"]:
        out += [f"Errors: {h['error_samples']}", ""]
    return out


def memory(meta: dict[str, Any]) -> list[str]:
    """The gateway's RSS over the run, and whether every request left its ledger row."""
    return [
        f"Gateway RSS: {meta['rss_ready_mb']:.1f} MB when ready, {meta['rss_end_mb']:.1f} MB at "
        f"the end, high-water mark {meta['rss_hwm_mb']:.1f} MB. Ledger rows written: "
        f"{meta['ledger_rows']}, gateway requests sent (warm-ups included): "
        f"{meta['gateway_requests']}.",
        "",
    ]


def verdict_table(checked: list[dict[str, Any]]) -> list[str]:
    return ["### Targets", ""] + table(
        ["target", "measured", "result"],
        [[v["target"], v["measured"], "PASS" if v["ok"] else "MISS"] for v in checked],
        "lll",
    )


def caveat(results: list[dict[str, Any]], ncpu: int) -> list[str]:
    worst = max((other_load(r, ncpu) for r in results), default=0.0)
    return [
        f"Caveat: {ncpu} CPUs are shared by the gateway, the fake upstream, the load generator and "
        f"anything else running (up to {worst:.2f} cores of other processes during a scenario). "
        "Gateway CPU per request is the gateway process's own utime+stime, the number least "
        "affected by that; req/s and latencies, above all at concurrency 16 and 64, are not.",
    ]


def hot_spots(profiles: dict[str, str]) -> list[str]:
    out: list[str] = []
    for title, summary in profiles.items():
        out += [
            "",
            f"### Gateway hot spots ({title}; py-spy --gil)",
            "",
            "```",
            summary.rstrip(),
            "```",
        ]
    return out


def against_peer(bench: Bench, meta: dict[str, Any]) -> list[str]:
    """The gateway beside LiteLLM proxy, same run, same upstream, same load generator."""
    if not meta.get("peer"):
        return []
    out = [
        f"### Against LiteLLM proxy {meta['peer']} (same run, same fake upstream)",
        "",
    ]
    rows = []
    for stream in (False, True):
        for c in bench.args.concurrency:
            pair = cpu_beside_peer(bench, stream, c)
            if not pair:
                continue
            g, p, gc, pc = pair
            rows.append([
                f"{'stream' if stream else 'json'} c={c}", fmt(gc), fmt(pc), f"{gc / pc:.2f}",
                f"{g['rps']:.0f}", f"{p['rps']:.0f}", fmt(g["latency_ms"]["p50"]),
                fmt(p["latency_ms"]["p50"]), g["errors"], p["errors"],
            ])  # fmt: skip
    out += table(
        ["scenario", "gateway CPU ms/req", "LiteLLM CPU ms/req", "gateway / LiteLLM CPU",
         "gateway req/s", "LiteLLM req/s", "gateway p50", "LiteLLM p50", "gateway errors",
         "LiteLLM errors"],
        rows,
    )  # fmt: skip
    out += [
        "The gateway authenticates a developer key against its database, reserves and settles "
        "the quota and writes a ledger row for every request; LiteLLM runs with a master key and "
        f"no database. LiteLLM RSS: {meta['peer_rss_ready_mb']:.1f} MB when ready, "
        f"{meta['peer_rss_end_mb']:.1f} MB at the end.",
        "",
    ]
    return out
