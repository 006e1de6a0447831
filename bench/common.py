"""Shared by the benchmarks: a dedicated local cluster and a table printer."""

from __future__ import annotations

import platform
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from brandbase.local import LocalCluster, free_port  # noqa: F401 - re-exported for benches

ROOT = Path(__file__).resolve().parents[1]


def cluster() -> LocalCluster:
    """A cluster of its own under .brandbase/bench, so benchmarks never touch the demo."""
    c = LocalCluster(ROOT / ".brandbase" / "bench")
    c.start(log=lambda m: None)
    return c


def machine() -> str:
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {cores} cores, {cpu}, Python {platform.python_version()}"


def header(title: str) -> None:
    print(f"## {title}\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC - {machine()}\n")


def table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))
    print()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000
