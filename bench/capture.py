"""Trigger-capture cost (issue 16), shared by bench/audit.py and bench/versions.py: the
same 100,000-row table untracked, tracked by audit, tracked by versions, under the raw
capture floor (a statement trigger inserting json_agg of its transition tables into an
index-free table, one row per statement) and under supa_audit 0.3.1 when it is installed
(scripts/bench-deps.sh), side by side in one run with pgbench.

- single-row UPDATE by random key, 1 client: latency (target: at most +25%)
- the same, 4 clients: TPS (target: at least 75% of untracked)
- one INSERT ... SELECT of 100,000 rows: time (target: at most 1.6x)
- backend CPU per single-row UPDATE (the server process's own time, from
  /proc/<pid>/schedstat), a second measure less sensitive to the shared machine
- the sealers: entries (versions) sealed per second after a 4-client run, against the
  tracked write rate of that run (target: at least 3x)
Rounds alternate the variants' order so machine noise hits all alike; medians reported.

    .venv/bin/python bench/capture.py [--rounds 3] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import random
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

SETUP = """
insert into brand.brands (id, slug, name) values ('{brand}', 'bench', 'Bench');
create table public.plain (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    balance integer not null,
    title text not null,
    body text not null,
    updated_at timestamptz not null default now(),
    primary key (brand_id, id)
);
insert into public.plain
select '{brand}', g, 0, 'title ' || g, repeat('lorem ipsum ', 10), now()
from generate_series(1, {rows}) as g;
"""

# The floor: what raw capture cannot avoid (one trigger call, json_agg of the transition
# tables, one row per statement with the statement's constants, into a table without index).
FLOOR = """
create schema if not exists bench;
create table bench.floor_inbox (
    txid bigint, occurred_at timestamptz, table_name text, operation text, old_rows json, new_rows json,
    actor_id uuid, actor_role text, request_id text, client_ip inet
);
create function bench.tg_floor() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        insert into bench.floor_inbox
        select pg_current_xact_id()::text::bigint, now(), tg_relid::regclass::text, tg_op, o.j, n.j, ctx.*
        from (select json_agg(t.*) as j from old_rows as t) as o,
            (select json_agg(t.*) as j from new_rows as t) as n, brand.request_context() as ctx;
    else
        insert into bench.floor_inbox
        select pg_current_xact_id()::text::bigint, now(), tg_relid::regclass::text, tg_op, null, n.j, ctx.*
        from (select json_agg(t.*) as j from new_rows as t) as n, brand.request_context() as ctx;
    end if;
    return null;
end
$$;
create trigger floor_update after update on public.t_floor referencing old table as old_rows
new table as new_rows for each statement execute function bench.tg_floor();
create trigger floor_insert after insert on public.t_floor referencing new table as new_rows
for each statement execute function bench.tg_floor();
"""

TRACK = {
    "audit": "select audit.track('public.t_audit')",
    "versions": "select versions.track('public.t_versions')",
    "floor": FLOOR,
    "supa_audit": "select audit_supa.enable_tracking('public.t_supa_audit'::regclass)",
}
TARGETS = {"latency": "<= +25%", "tps4": ">= 75%", "bulk": "<= 1.6x"}
NAMES = {"floor": "floor: json_agg statement trigger", "supa_audit": "supa_audit 0.3.1"}
SEAL = {"audit": "select audit.seal()", "versions": "select versions.seal()"}
PENDING = {"audit": "select count(*) from audit.captures",
           "versions": "select count(*) from versions.captures"}


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


def update_sql(tbl: str) -> str:
    return (f"update public.{tbl} set balance = balance + 1, updated_at = now() "
            f"where brand_id = '{BRAND}' and id = ")


def update_script(tbl: str, rows: int) -> str:
    return f"\\set id random(1, {rows})\n{update_sql(tbl)}:id;\n"


def backend_cpu_us(dsn: str, tbl: str, rows: int, statements: int) -> float:
    """Backend CPU per single-row UPDATE, in microseconds (the server process's own time)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.info.backend_pid
        query = update_sql(tbl) + "%s"
        for i in range(200):  # warm the plan caches
            conn.execute(query, (1 + i,), prepare=True)
        keys = [random.randint(1, rows) for _ in range(statements)]
        stat = Path(f"/proc/{pid}/schedstat")
        before = int(stat.read_text().split()[0])
        for k in keys:
            conn.execute(query, (k,), prepare=True)
        return (int(stat.read_text().split()[0]) - before) / statements / 1000


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per pgbench run (default 10)")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="table size and bulk insert (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, 20,000 rows")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.rows = 1, 2, 20_000
    return args


def supa_audit_available(c) -> bool:
    with psycopg.connect(c.url(superuser=True, dbname="postgres"), autocommit=True) as conn:
        return bool(conn.execute(
            "select count(*) from pg_available_extension_versions "
            "where name = 'supa_audit' and version = '0.3.1'").fetchone()[0])


def run(variants: tuple[str, ...] = ("audit", "versions")) -> None:
    args = options()
    rounds, seconds, rows = args.rounds, args.seconds, args.rows
    c = cluster()
    name = "bench_capture"
    dsn = c.create_database(name)
    wanted = ["floor", *variants]
    if supa_audit_available(c):
        wanted.append("supa_audit")
        with psycopg.connect(c.url(superuser=True, dbname=name), autocommit=True) as conn:
            conn.execute("create schema if not exists audit_supa")
            conn.execute("create extension if not exists supa_audit with schema audit_supa version '0.3.1'")
    else:
        print("supa_audit 0.3.1 is not installed here (scripts/bench-deps.sh): not measured\n")
    tables = ["plain", *wanted]
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        conn.execute(SETUP.format(brand=BRAND, rows=rows))
        for v in wanted:
            conn.execute(f"create table public.t_{v} (like public.plain including all)")
            conn.execute(f"insert into public.t_{v} select * from public.plain")
            conn.execute(TRACK[v])
        conn.execute("vacuum analyze")
    tbl = {v: "plain" if v == "plain" else f"t_{v}" for v in tables}

    def settle() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for v in variants:
                conn.execute(SEAL[v])
                conn.execute(SEAL[v])  # versions: the second round sees the first's mark

    results: dict[tuple[str, str], list[float]] = {}
    for rnd in range(rounds):
        order = tables[rnd % len(tables):] + tables[:rnd % len(tables)]
        if rnd % 2:
            order.reverse()
        for v in order:
            _, latency = pgbench(dsn, update_script(tbl[v], rows), 1, seconds)
            results.setdefault(("latency", v), []).append(latency)
            tps, _ = pgbench(dsn, update_script(tbl[v], rows), 4, seconds)
            results.setdefault(("tps4", v), []).append(tps)
            results.setdefault(("cpu", v), []).append(backend_cpu_us(dsn, tbl[v], rows, 500 * seconds))
            with psycopg.connect(dsn, autocommit=True) as conn:
                first = conn.execute(f"select max(id) + 1 from public.{tbl[v]}").fetchone()[0]
                started = time.perf_counter()
                conn.execute(
                    f"insert into public.{tbl[v]} select '{BRAND}', g, 0, 'title ' || g, "
                    f"repeat('lorem ipsum ', 10), now() "
                    f"from generate_series({first}, {first + rows - 1}) as g")
                results.setdefault(("bulk", v), []).append(time.perf_counter() - started)
        settle()  # the sealers run in the background in production; here between rounds

    # The sealers against the write rate they must keep up with: a 4-client run leaves its
    # captures pending; one round seals them.
    sealing: dict[str, tuple[float, int, float]] = {}
    for v in variants:
        settle()
        tps, _ = pgbench(dsn, update_script(tbl[v], rows), 4, seconds)
        with psycopg.connect(dsn, autocommit=True) as conn:
            pending = conn.execute(PENDING[v]).fetchone()[0]
            started = time.perf_counter()
            done = conn.execute(SEAL[v]).fetchone()[0] + conn.execute(SEAL[v]).fetchone()[0]
            elapsed = time.perf_counter() - started
        sealing[v] = (tps, done, done / elapsed if elapsed else 0.0)
        assert pending == done, (v, pending, done)

    med = {k: statistics.median(x) for k, x in results.items()}
    base = {m: med[(m, "plain")] for m in ("latency", "tps4", "bulk", "cpu")}
    header(f"capture: tracked vs untracked ({rounds} alternating rounds of {seconds} s, "
           f"{rows:,} rows, medians)")
    body = [["untracked", f"{base['latency']:.3f} ms", "-", f"{base['tps4']:,.0f}", "-",
             f"{base['bulk']:.2f} s", "-", f"{base['cpu']:.0f} us", "-"]]
    for v in wanted:
        body.append([
            NAMES.get(v, f"{v}.track"),
            f"{med[('latency', v)]:.3f} ms", f"{med[('latency', v)] / base['latency'] - 1:+.1%}",
            f"{med[('tps4', v)]:,.0f}", f"{med[('tps4', v)] / base['tps4']:.1%}",
            f"{med[('bulk', v)]:.2f} s", f"{med[('bulk', v)] / base['bulk']:.2f}x",
            f"{med[('cpu', v)]:.0f} us", f"{med[('cpu', v)] - base['cpu']:+.0f} us"])
    body.append(["target (audit, versions)", "", TARGETS["latency"], "", TARGETS["tps4"], "",
                 TARGETS["bulk"], "", "reported"])
    table(["variant", "1 client latency", "vs untracked", "4 clients TPS", "vs untracked",
           "INSERT...SELECT", "vs untracked", "backend CPU / UPDATE", "added"], body)
    table(["sealer", "tracked 4-client TPS", "sealed in one round", "sealed per second", "ratio", "target"],
          [[SEAL[v], f"{tps:,.0f}", f"{done:,}", f"{rate:,.0f}", f"{rate / tps:.1f}x", ">= 3x"]
           for v, (tps, done, rate) in sealing.items()])
    c.drop_database(name)


if __name__ == "__main__":
    run()
