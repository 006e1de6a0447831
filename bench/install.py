"""Fresh install of the whole pack on an empty database, and a second `migrate` with
nothing pending. Target: < 5 s and < 0.5 s. Median of 5 runs.

    .venv/bin/python bench/install.py
"""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
from common import cluster, header, median_ms, table

from brandbase import migrate, pack

RUNS = 5


def main() -> None:
    c = cluster()
    everything = pack.load()
    fresh, noop, cli_fresh, cli_noop = [], [], [], []
    for i in range(RUNS):
        dsn = c.create_database(f"bench_install_{i}")
        for samples in (fresh, noop):
            started = time.perf_counter()
            with psycopg.connect(dsn, autocommit=True) as conn:  # a new session, as the CLI does
                migrate.migrate(conn, everything)
            samples.append(time.perf_counter() - started)
        dsn = c.create_database(f"bench_install_{i}")
        for samples in (cli_fresh, cli_noop):  # the whole `brandbase migrate` process
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "brandbase.cli", "migrate", "--dsn", dsn],
                           check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
        c.drop_database(f"bench_install_{i}")
    header("Install")
    table(["what", "files", "median", "min", "max", "target"], [
        ["fresh install, empty database", len(everything.versioned) + len(everything.repeatable),
         f"{median_ms(fresh):.0f} ms", f"{min(fresh) * 1000:.0f} ms",
         f"{max(fresh) * 1000:.0f} ms", "< 5000 ms"],
        ["second migrate, nothing pending", 0, f"{median_ms(noop):.1f} ms",
         f"{min(noop) * 1000:.1f} ms", f"{max(noop) * 1000:.1f} ms", "< 500 ms"],
        ["`brandbase migrate` process, fresh", "all", f"{median_ms(cli_fresh):.0f} ms",
         f"{min(cli_fresh) * 1000:.0f} ms", f"{max(cli_fresh) * 1000:.0f} ms", "< 5000 ms"],
        ["`brandbase migrate` process, nothing pending", 0, f"{median_ms(cli_noop):.0f} ms",
         f"{min(cli_noop) * 1000:.0f} ms", f"{max(cli_noop) * 1000:.0f} ms", "< 500 ms"],
    ])


if __name__ == "__main__":
    main()
