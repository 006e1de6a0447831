"""Shared by the Python peer runners, which run in the peers venv (bench/.peers/venv):
argv parsing, the enqueue chunk size and the one JSON line each runner prints."""

from __future__ import annotations

import json
import sys
import time

CHUNK = 1000  # jobs per bulk-enqueue call, the same for every peer


def args() -> tuple[str, int, int]:
    dsn, jobs, concurrency = sys.argv[1:4]
    return dsn, int(jobs), int(concurrency)


def chunks(jobs: int) -> list[range]:
    return [range(i, min(i + CHUNK, jobs)) for i in range(0, jobs, CHUNK)]


def report(jobs: int, enqueue_s: float, drain_s: float, left: int) -> None:
    """Print the rates; `left` jobs not completed after the drain is an error."""
    if left:
        sys.exit(f"{left} of {jobs} jobs not completed after the drain")
    print(json.dumps({"enqueue": jobs / enqueue_s, "drain": jobs / drain_s}), flush=True)


now = time.perf_counter
