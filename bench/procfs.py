"""Readings from /proc: a process's CPU time and memory, how busy the whole machine is, and what
CPU it has. Linux only, as the benchmark is."""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float] | None:
    """(utime, stime) of the whole process (every thread), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # after "pid (comm)": state=0 ... utime=11, stime=12
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the whole process (every thread), in seconds."""
    times = cpu_times(pid)
    return None if times is None else sum(times)


def self_cpu() -> float:
    """utime + stime of this process, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def status_kb(pid: int, field: bytes) -> int | None:
    """One kB figure of /proc/<pid>/status, such as b"VmRSS:"; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kb(pid: int) -> int | None:
    """Resident memory now."""
    return status_kb(pid, b"VmRSS:")


def hwm_kb(pid: int) -> int | None:
    """The high-water mark of resident memory."""
    return status_kb(pid, b"VmHWM:")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat", "rb") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


def machine_busy(seconds: float) -> float:
    """The share of all CPUs busy over the next `seconds`."""
    b0, t0 = machine_ticks()
    time.sleep(seconds)
    b1, t1 = machine_ticks()
    return (b1 - b0) / max(1, t1 - t0)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
