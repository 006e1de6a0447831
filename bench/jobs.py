"""Job queue throughput: 20,000 no-op jobs, batch enqueue and drain, brandbase's pure-SQL
claim/complete loop and `brandbase worker` (1 and 2 processes), total concurrency 20, and
the peers (procrastinate, pgqueuer, graphile-worker, pg-boss, pgmq) against the same server
in the same run. Every system gets a fresh database and default durability.

    scripts/bench-peers.sh && .venv/bin/python bench/jobs.py [--repeats 3] [--no-peers]
    .venv/bin/python bench/jobs.py --million   # hot-table size over 1,000,000 jobs
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psycopg
from common import ROOT, cluster, header, table
from psycopg.types.json import Json, set_json_dumps

from brandbase import migrate, pack

JOBS = 20_000
CONCURRENCY = 20
SQL_BATCH = 50  # jobs per claim in the pure-SQL loop
HANDLERS = Path(__file__).resolve().parent / "noop_handlers.py"


def fresh_database(c, name: str, on_success: str = "archive") -> str:
    dsn = c.create_database(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(ROOT))
        conn.execute("select jobs.create_queue('noop', on_success => %s)", (on_success,))
    return dsn


def enqueue(dsn: str, jobs: int = JOBS) -> float:
    """Jobs per second for one enqueue_many call of `jobs` payloads, as a client sends it
    over a pooled connection: one that has called the function before (an empty batch), so
    the timing leaves out the session's one-off PL/pgSQL compilation and catalog loads. The
    client encodes JSON with orjson (docs/jobs.md), as the pgmq runner does."""
    payloads = Json([{"n": i} for i in range(jobs)])
    with psycopg.connect(dsn, autocommit=True) as conn:
        set_json_dumps(orjson.dumps, conn)
        conn.execute("select count(*) from jobs.enqueue_many('noop', '[]')")
        started = time.perf_counter()
        conn.execute("select count(*) from jobs.enqueue_many('noop', %s)", (payloads,))
        return jobs / (time.perf_counter() - started)


def drain_sql(dsn: str, connections: int = CONCURRENCY, batch: int = SQL_BATCH) -> float:
    """The pure-SQL loop: each connection settles its last batch and claims the next in one
    jobs.cycle() call, until the queue is empty."""

    def loop(n: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            held: list[int] = []
            while True:
                held = [r[0] for r in conn.execute(
                    "select id from jobs.cycle(%s, %s, array['noop'], %s)",
                    (f"bench:{n}", batch, held)).fetchall()]
                if not held:
                    return

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return settled(dsn) / (time.perf_counter() - started)


def drain_worker(dsn: str, processes: int, prefetch: int) -> float:
    """`brandbase worker --drain`, the total concurrency (and prefetch) split across
    processes; timed as the peers are, from the workers' start (each reports the time from
    its first round trip to its last settle) to the last one's end."""
    cmd = [sys.executable, "-m", "brandbase.cli", "worker", "--dsn", dsn, "--drain",
           "--handlers", f"{HANDLERS.stem}:HANDLERS", "--concurrency", str(CONCURRENCY // processes),
           "--prefetch", str(prefetch // processes)]
    env = {"PYTHONPATH": str(HANDLERS.parent), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    seconds = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(err)
        seconds.append(float(re.search(r"settled in ([\d.]+) s", err).group(1)))
    return settled(dsn) / max(seconds)


def settled(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        live = conn.execute("select count(*) from jobs.job_queue").fetchone()[0]
        if live:
            raise RuntimeError(f"{live} jobs left undrained")
        done = conn.execute("select count(*) from jobs.job_history").fetchone()[0]
        return done or JOBS  # on_success => delete keeps no history


def median_rate(samples: list[float]) -> str:
    return f"{statistics.median(samples):,.0f}/s"


WORKER_PREFETCH = 500  # like graphile-worker-batched's local queue of 500

VARIANTS = [  # name, drain, on_success
    ("brandbase SQL loop", drain_sql, "archive"),
    ("brandbase SQL loop, delete", drain_sql, "delete"),
    ("brandbase worker x1, no prefetch", lambda d: drain_worker(d, 1, 0), "archive"),
    ("brandbase worker x1", lambda d: drain_worker(d, 1, WORKER_PREFETCH), "archive"),
    ("brandbase worker x2", lambda d: drain_worker(d, 2, WORKER_PREFETCH), "archive"),
]


def brandbase_round(c) -> dict[str, dict[str, float]]:
    rates = {}
    for name, drain, policy in VARIANTS:
        dsn = fresh_database(c, "bench_jobs", policy)
        rates[name] = {"enqueue": enqueue(dsn), "drain": drain(dsn)}
        print(f"{name}: enqueue {rates[name]['enqueue']:,.0f}/s, drain {rates[name]['drain']:,.0f}/s",
              flush=True)
    return rates


def peer_round(c) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(ROOT))
    from bench.peers import run_peers

    made: list[str] = []

    def make_dsn() -> str:
        name = f"bench_peer_{len(made)}"
        made.append(name)
        c.create_database(name)
        return c.url(superuser=True, dbname=name)

    try:
        return run_peers(make_dsn, jobs=JOBS, concurrency=CONCURRENCY, repeats=1)
    finally:
        for name in made:
            c.drop_database(name)


def medians(rounds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    names = dict.fromkeys(name for r in rounds for name in r)
    return {name: {k: statistics.median(r[name][k] for r in rounds if not math.isnan(r[name][k]))
                   if any(not math.isnan(r[name][k]) for r in rounds) else math.nan
                   for k in ("enqueue", "drain")} for name in names}


def million(c) -> None:
    """Runs 1,000,000 jobs through `brandbase worker` (its housekeeping included) in rounds
    of 20,000 and reports the hot table's size."""
    dsn = fresh_database(c, "bench_jobs_million")
    size = "select pg_size_pretty(pg_total_relation_size('jobs.job_queue'))"
    rows = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for done in range(0, 1_000_001, JOBS):
            if done % 200_000 == 0:
                rows.append([f"{done:,}", conn.execute(size).fetchone()[0]])
            if done < 1_000_000:
                enqueue(dsn)
                drain_worker(dsn, 1, WORKER_PREFETCH)
    header("jobs: hot table size while 1,000,000 jobs pass through `brandbase worker`")
    table(["jobs processed", "jobs.job_queue with indexes"], rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--million", action="store_true")
    args = parser.parse_args()
    c = cluster()
    if args.million:
        million(c)
        return
    rounds = []
    for _ in range(args.repeats):  # brandbase and peers alternate: drift hits both alike
        rates = brandbase_round(c)
        if not args.no_peers:
            rates.update(peer_round(c))
        rounds.append(rates)
    rates = medians(rounds)
    header(f"jobs: {JOBS:,} no-op jobs, concurrency {CONCURRENCY}, median of {args.repeats}")
    ours = rates["brandbase worker x2"]["drain"]
    rows = []
    for name, r in rates.items():
        drain, enq = r["drain"], r["enqueue"]
        rows.append([name, "-" if math.isnan(enq) else f"{enq:,.0f}/s",
                     "-" if math.isnan(drain) else f"{drain:,.0f}/s",
                     "" if name.startswith("brandbase") or math.isnan(drain) else f"{ours / drain:.2f}x"])
    table(["system", "enqueue (batch)", "drain", "brandbase worker x2 / it"], rows)


if __name__ == "__main__":
    main()
