"""The benchmark's progress log, on stderr so that the report alone goes to stdout."""

from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
