"""Peer job systems on the same server, for bench/jobs.py: enqueue and drain rates of
procrastinate, pgqueuer, graphile-worker (plain and with 0.17's batching), pg-boss and pgmq.

Each peer runs as its own subprocess, in bench/.peers (scripts/bench-peers.sh installs it; the
main venv never gets their dependencies): the Python peers in its venv, the node peers with node.
A run enqueues `jobs` no-op jobs in bulk calls of 1,000 (the rate is `enqueue`), then starts the
peer's workers, `concurrency` jobs at a time in total, and stops the clock when the database
shows every job completed (`drain`). Default durability everywhere: logged tables, the server's
synchronous_commit.

    .venv/bin/python -m bench.peers [--jobs 20000] [--concurrency 20] [--repeats 3] [--only pgmq]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
PEERS_HOME = BENCH / ".peers"
VENV_PYTHON = PEERS_HOME / "venv" / "bin" / "python"
NODE_MODULES = PEERS_HOME / "node" / "node_modules"
PGMQ_SQL = PEERS_HOME / "pgmq.sql"
INSTALL = "scripts/bench-peers.sh"

# name -> (command after the common arguments dsn jobs concurrency, what it needs installed)
PEERS: dict[str, tuple[list[str], list[Path]]] = {
    "procrastinate": ([str(VENV_PYTHON), str(HERE / "run_procrastinate.py")], [VENV_PYTHON]),
    "pgqueuer": ([str(VENV_PYTHON), str(HERE / "run_pgqueuer.py")], [VENV_PYTHON]),
    "graphile-worker": (["node", str(HERE / "graphile_worker.mjs")], [NODE_MODULES / "graphile-worker"]),
    "graphile-worker-batched": (["node", str(HERE / "graphile_worker.mjs")],
                                [NODE_MODULES / "graphile-worker"]),
    "pg-boss": (["node", str(HERE / "pg_boss.mjs")], [NODE_MODULES / "pg-boss"]),
    "pgmq": ([str(VENV_PYTHON), str(HERE / "run_pgmq.py")], [VENV_PYTHON, PGMQ_SQL]),
}
EXTRA_ARGS = {"graphile-worker": ["plain"], "graphile-worker-batched": ["batched"], "pgmq": [str(PGMQ_SQL)]}


# The peers' own environment: none of the main venv's Python settings.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
ENV["PEERS_NODE"] = str(NODE_MODULES.parent)


class PeerError(Exception):
    pass


def missing(name: str) -> str | None:
    """Why `name` cannot run here, or None."""
    cmd, needs = PEERS[name]
    if cmd[0] == "node" and not shutil.which("node"):
        return "node is not installed"
    for path in needs:
        if not path.exists():
            return f"{path.relative_to(BENCH.parent)} is missing: run {INSTALL}"
    return None


def run_one(name: str, dsn: str, jobs: int, concurrency: int, timeout: float) -> dict[str, float]:
    """One enqueue + drain of `name` against the empty database `dsn`."""
    cmd = [*PEERS[name][0], dsn, str(jobs), str(concurrency), *EXTRA_ARGS.get(name, [])]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE, env=ENV)
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"timed out after {timeout:.0f} s") from e
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise PeerError(f"exit {proc.returncode}: {' | '.join(tail)}")
    result = json.loads(lines[-1])
    return {"enqueue": float(result["enqueue"]), "drain": float(result["drain"])}


def run_peers(make_dsn: Callable[[], str], jobs: int = 20000, concurrency: int = 20, repeats: int = 3,
              only: list[str] | None = None, log: Callable[[str], None] | None = None,
              ) -> dict[str, dict[str, float]]:
    """Per peer, the median enqueue and drain rates (jobs/s) over `repeats` runs, each on a
    fresh database from `make_dsn()`. A peer that cannot run or fails every repeat gets nan
    rates and an "error" entry (a string) saying why; its failures never stop the others."""
    log = log or (lambda m: print(m, file=sys.stderr))
    timeout = 120 + jobs / 50  # generous: a drain slower than ~100 jobs/s is broken anyway
    results: dict[str, dict] = {}
    for name in only or PEERS:
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
        if reason := missing(name):
            log(f"{name}: skipped, {reason}")
            results[name] = {"enqueue": math.nan, "drain": math.nan, "error": reason}
            continue
        runs, errors = [], []
        for i in range(repeats):
            try:
                r = run_one(name, make_dsn(), jobs, concurrency, timeout)
                runs.append(r)
                log(f"{name} #{i + 1}: enqueue {r['enqueue']:,.0f}/s, drain {r['drain']:,.0f}/s")
            except PeerError as e:
                errors.append(str(e))
                log(f"{name} #{i + 1}: failed, {e}")
        results[name] = {k: statistics.median(r[k] for r in runs) if runs else math.nan
                         for k in ("enqueue", "drain")}
        if errors:
            results[name]["error"] = f"{len(errors)} of {repeats} runs failed: {errors[0]}"
    return results


def rows(results: dict[str, dict]) -> list[list[str]]:
    """Table rows (peer, enqueue/s, drain/s, note) for bench.common.table."""
    fmt = lambda v: "-" if math.isnan(v) else f"{v:,.0f}"  # noqa: E731
    return [[name, fmt(r["enqueue"]), fmt(r["drain"]), r.get("error", "")] for name, r in results.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(PEERS))
    opts = parser.parse_args()

    sys.path.insert(0, str(BENCH))
    from common import cluster, header, table

    c = cluster()
    created: list[str] = []
    serial = itertools.count()

    def make_dsn() -> str:
        # Runs are sequential, so the previous run's database can go now.
        while created:
            c.drop_database(created.pop())
        name = f"peers_{next(serial)}"
        c.create_database(name)
        created.append(name)
        return c.url(superuser=True, dbname=name)

    try:
        results = run_peers(make_dsn, opts.jobs, opts.concurrency, opts.repeats, opts.only)
    finally:
        for name in created:
            c.drop_database(name)
    header(f"Peer job systems: {opts.jobs:,} no-op jobs, concurrency {opts.concurrency}, "
           f"median of {opts.repeats}")
    table(["peer", "enqueue jobs/s", "drain jobs/s", "note"], rows(results))


if __name__ == "__main__":
    main()
