"""Summarise a py-spy "raw" (collapsed stacks) profile: top functions by self and by inclusive
samples, plus the gateway's own functions (project code) by inclusive samples.

    .venv/bin/py-spy record -p <gateway pid> -r 250 -f raw -o /tmp/gw.txt --nonblocking
    .venv/bin/python bench/hotspots.py /tmp/gw.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")
PROJECT = (
    "handlers/",
    "web/",
    "usecases/",
    "gateway/",
    "providers/",
    "domain/",
    "storage/",
    "cli/",
)
REPO_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
IDLE = ("select (", "poll (", "_run_once", "run_forever", "epoll")


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "lib/python3.11/", REPO_ROOT):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{match['func']}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--thread", default=None, help="only stacks whose first frame contains this"
    )
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    with open(args.path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = stack.split(";")
            if args.thread and args.thread not in frames[0]:
                continue
            total += n
            names = [short(fr) for fr in frames]
            own[names[-1]] += n
            for name in set(names):
                inclusive[name] += n
                if name.startswith(PROJECT):
                    project[name] += n
    print(f"samples: {total}")
    for title, counter in (
        ("self", own),
        ("inclusive", inclusive),
        ("project code, inclusive", project),
    ):
        print(f"\n== top {args.top} by {title} ==")
        for name, n in counter.most_common(args.top):
            print(f"{100 * n / max(1, total):6.1f}%  {n:6d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
