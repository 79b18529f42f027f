"""What the load generator measures over one recorded phase: the CPU of the watched processes,
its own and the machine's (Probe), and the gateway's RSS peak (RssSampler)."""

from __future__ import annotations

import asyncio
from typing import Any

from procfs import cpu_times, machine_ticks, rss_kb, self_cpu


class Probe:
    """CPU of the watched processes, of this process and of the machine over one phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start: dict[str, Any] = {}

    def begin(self) -> None:
        self.start = {
            "pids": {name: cpu_times(pid) for name, pid in self.pids.items()},
            "self": self_cpu(),
            "machine": machine_ticks(),
        }

    def end(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cpu_s": {}, "sys_s": {}}
        for name, pid in self.pids.items():
            before, after = self.start["pids"][name], cpu_times(pid)
            if before is None or after is None:
                out["cpu_s"][name] = out["sys_s"][name] = None
            else:
                out["cpu_s"][name] = sum(after) - sum(before)
                out["sys_s"][name] = after[1] - before[1]
        out["cpu_s"]["loadgen"] = self_cpu() - self.start["self"]
        busy0, total0 = self.start["machine"]
        busy1, total1 = machine_ticks()
        out["machine_busy"] = (busy1 - busy0) / max(1, total1 - total0)
        return out


class RssSampler:
    def __init__(self, pid: int | None, every: float = 0.05) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0
        self.first: int | None = None
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.pid:
            self.first = rss_kb(self.pid)
            self.peak = self.first or 0
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            value = rss_kb(self.pid)
            if value is not None and value > self.peak:
                self.peak = value
            await asyncio.sleep(self.every)

    def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            value = rss_kb(self.pid)
            if value is not None and value > self.peak:
                self.peak = value
        return {
            "rss_start_kb": self.first,
            "rss_peak_kb": self.peak or None,
            "rss_end_kb": rss_kb(self.pid) if self.pid else None,
        }
