"""Trigger-capture cost, shared by bench/audit.py and bench/versions.py: the same table
tracked and untracked, side by side in one run, with pgbench.

- single-row UPDATE, 1 client: latency (target: at most +20%)
- single-row UPDATE, 4 clients: TPS (target: at least 75% of untracked)
- one INSERT ... SELECT of 100,000 rows: time (target: at most 2x)
- bytes stored per UPDATE event
Rounds alternate untracked/tracked so machine noise hits both alike; medians reported.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from common import cluster, header, table

from brandbase import migrate, pack
from brandbase.local import find_bindir

BRAND = "0b0b0b0b-0000-4000-8000-000000000001"
ROWS = 100_000

SETUP = f"""
insert into brand.brands (id, slug, name) values ('{BRAND}', 'bench', 'Bench');
create table public.plain (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    balance integer not null,
    title text not null,
    body text not null,
    updated_at timestamptz not null default now(),
    primary key (brand_id, id)
);
create table public.tracked (like public.plain including all);
alter table public.tracked add foreign key (brand_id) references brand.brands (id);
insert into public.plain
select '{BRAND}', g, 0, 'title ' || g, repeat('lorem ipsum ', 10), now()
from generate_series(1, {ROWS}) as g;
insert into public.tracked select * from public.plain;
"""


def pgbench(dsn: str, script: str, clients: int, seconds: int) -> tuple[float, float]:
    """Returns (tps, average latency ms) of a pgbench run."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    Path(f.name).chmod(0o644)
    out = subprocess.run(
        [str(find_bindir() / "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
         "-j", str(min(clients, 2)), "-T", str(seconds), "-f", f.name, dsn],
        capture_output=True, text=True, check=True).stdout
    Path(f.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", out)[1])
    latency = float(re.search(r"latency average = ([\d.]+) ms", out)[1])
    return tps, latency


def update_script(tbl: str) -> str:
    return (f"\\set id random(1, {ROWS})\n"
            f"update public.{tbl} set balance = balance + 1, updated_at = now() "
            f"where brand_id = '{BRAND}' and id = :id;\n")


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per pgbench run (default 10)")
    return parser.parse_args()


def run(module: str, track_sql: str, storage_sql: str, settle_sql: str | None = None) -> None:
    """settle_sql runs before storage is measured (audit: seal, so entries sit in the log)."""
    args = options()
    rounds, seconds = args.rounds, args.seconds
    c = cluster()
    dsn = c.create_database(f"bench_{module}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        conn.execute(SETUP)
        conn.execute("vacuum analyze public.plain, public.tracked")
        conn.execute(track_sql)

    results: dict[tuple[str, str], list[float]] = {}
    for rnd in range(rounds):
        order = ["plain", "tracked"] if rnd % 2 == 0 else ["tracked", "plain"]
        for tbl in order:
            _, latency = pgbench(dsn, update_script(tbl), 1, seconds)
            results.setdefault(("latency", tbl), []).append(latency)
            tps, _ = pgbench(dsn, update_script(tbl), 4, seconds)
            results.setdefault(("tps4", tbl), []).append(tps)
            with psycopg.connect(dsn, autocommit=True) as conn:
                first = conn.execute(f"select max(id) + 1 from public.{tbl}").fetchone()[0]
                started = time.perf_counter()
                conn.execute(
                    f"insert into public.{tbl} select '{BRAND}', g, 0, 'title ' || g, "
                    f"repeat('lorem ipsum ', 10), now() "
                    f"from generate_series({first}, {first + ROWS - 1}) as g")
                results.setdefault(("bulk", tbl), []).append(time.perf_counter() - started)

    with psycopg.connect(dsn, autocommit=True) as conn:
        if settle_sql:
            conn.execute(settle_sql)
        before = conn.execute(storage_sql).fetchone()[0]
        conn.execute(f"update public.tracked set balance = balance + 1 where brand_id = '{BRAND}' "
                     "and id <= 10000")
        if settle_sql:
            conn.execute(settle_sql)
        per_event = (conn.execute(storage_sql).fetchone()[0] - before) / 10_000

    med = {k: statistics.median(v) for k, v in results.items()}
    header(f"{module}: tracked vs untracked ({rounds} alternating rounds of {seconds} s, medians)")
    table(["measure", "untracked", "tracked", "ratio", "target"], [
        ["single-row UPDATE, 1 client, latency", f"{med[('latency', 'plain')]:.3f} ms",
         f"{med[('latency', 'tracked')]:.3f} ms",
         f"{med[('latency', 'tracked')] / med[('latency', 'plain')] - 1:+.1%}", "<= +20%"],
        ["single-row UPDATE, 4 clients, TPS", f"{med[('tps4', 'plain')]:,.0f}",
         f"{med[('tps4', 'tracked')]:,.0f}",
         f"{med[('tps4', 'tracked')] / med[('tps4', 'plain')]:.1%}", ">= 75%"],
        ["INSERT ... SELECT 100,000 rows", f"{med[('bulk', 'plain')]:.2f} s",
         f"{med[('bulk', 'tracked')]:.2f} s",
         f"{med[('bulk', 'tracked')] / med[('bulk', 'plain')]:.2f}x", "<= 2x"],
        ["bytes stored per UPDATE event (heap + indexes)", "-", f"{per_event:,.0f} B", "-", "reported"],
    ])
    c.drop_database(f"bench_{module}")
