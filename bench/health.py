"""api.health() and a metrics scrape on a seeded database (1,000 brands, scale 1):
median latency. Targets: api.health() < 20 ms, `brandbase metrics` scrape < 100 ms.

    .venv/bin/python bench/health.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg
from common import cluster, header, table
from prometheus_client import CollectorRegistry, generate_latest

from brandbase import migrate, pack, seed
from brandbase.health import PackCollector


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    c = cluster()
    dsn = c.create_database("bench_health")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        seed.seed(conn, seed.Plan(brands=1000, scale=1.0, seed=42), lambda step, n: None)
        conn.execute("set role service_role")
        as_service = timed(lambda: conn.execute("select api.health()").fetchone(), args.runs)
        conn.execute("reset role; set role anon")
        as_anon = timed(lambda: conn.execute("select api.health()").fetchone(), args.runs)
    registry = CollectorRegistry()
    registry.register(PackCollector(dsn))
    scrape = timed(lambda: generate_latest(registry), args.runs)
    header(f"Health and metrics ({args.runs} runs each)")
    table(["what", "median", "p95", "target"], [
        ["api.health() as service_role (every probe, details)",
         f"{statistics.median(as_service):.2f} ms", f"{statistics.quantiles(as_service, n=20)[18]:.2f} ms",
         "< 20 ms"],
        ["api.health() as anon (verdict only)", f"{statistics.median(as_anon):.2f} ms",
         f"{statistics.quantiles(as_anon, n=20)[18]:.2f} ms", "< 20 ms"],
        ["metrics scrape (collect + render)", f"{statistics.median(scrape):.2f} ms",
         f"{statistics.quantiles(scrape, n=20)[18]:.2f} ms", "< 100 ms"],
    ])
    c.drop_database("bench_health")


if __name__ == "__main__":
    main()
