"""Trigger-capture cost (issue 16), shared by bench/audit.py and bench/versions.py: the
same 100,000-row table untracked, tracked by audit, tracked by versions, under two floors
(a statement trigger inserting json_agg of its transition tables into an index-free table,
one row per statement; and the same trigger as SECURITY DEFINER with a pinned search_path,
which the pack's security conventions require of a trigger that writes where its caller
may not) and under supa_audit 0.3.1 when it is installed (scripts/bench-deps.sh), side by
side in one run with pgbench.

- single-row UPDATE by random key, 1 client: latency (target: at most +25%)
- the same, 4 clients: TPS (target: at least 75% of untracked)
- one INSERT ... SELECT of 100,000 rows: time (target: at most 1.6x)
- backend CPU per single-row UPDATE (the server process's own time, from
  /proc/<pid>/schedstat), a second measure less sensitive to the shared machine
- the sealers: entries (versions) sealed per second after a 4-client run, against the
  tracked write rate (target: at least 3x)

This machine is noisy (2 shared cores): many short rounds, every variant once per round,
the order rotating and reversing each round, and each variant run between two untracked
runs: its figure is taken as a ratio to their mean (the load changes over seconds, so the
baseline is measured next to each variant), and the median of those ratios is reported
with its spread (lowest .. highest), so a slow moment hurts one ratio, not the verdict.

    .venv/bin/python bench/capture.py [--rounds 4] [--seconds 2] [--quick]
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
FLOOR_BODY = """
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
"""
FLOOR_TABLE = """
create schema if not exists bench;
create table if not exists bench.floor_inbox (
    txid bigint, occurred_at timestamptz, table_name text, operation text, old_rows json, new_rows json,
    actor_id uuid, actor_role text, request_id text, client_ip inet
);
"""


def floor_sql(name: str, definer: bool) -> str:
    attributes = "security definer set search_path = pg_catalog, pg_temp" if definer else ""
    return (FLOOR_TABLE
            + f"create function bench.tg_{name}() returns trigger language plpgsql {attributes} "
            + f"as $$ {FLOOR_BODY} $$;\n"
            + f"create trigger floor_update after update on public.t_{name} "
            + "referencing old table as old_rows new table as new_rows "
            + f"for each statement execute function bench.tg_{name}();\n"
            + f"create trigger floor_insert after insert on public.t_{name} "
            + "referencing new table as new_rows "
            + f"for each statement execute function bench.tg_{name}();\n")


TRACK = {
    "audit": "select audit.track('public.t_audit')",
    "versions": "select versions.track('public.t_versions')",
    "floor": floor_sql("floor", definer=False),
    "floor_definer": floor_sql("floor_definer", definer=True),
    "supa_audit": "select audit_supa.enable_tracking('public.t_supa_audit'::regclass)",
}
NAMES = {"plain": "untracked", "floor": "floor: json_agg statement trigger",
         "floor_definer": "floor as definer, pinned search_path", "supa_audit": "supa_audit 0.3.1"}
SEAL = {"audit": "select audit.seal()", "versions": "select versions.seal()"}
PENDING = {"audit": "select count(*) from audit.captures",
           "versions": "select count(*) from versions.captures"}
SUPA_AUDIT_MISSING = (
    "supa_audit 0.3.1: not installed here and not available from any package registry this "
    "machine reaches (checked: pip, npm, apt); scripts/bench-deps.sh installs it from a "
    "checkout named by SUPA_AUDIT_SRC, and this bench then measures it. Not measured.")


def pgbench(dsn: str, script: str, clients: int, seconds: float) -> tuple[float, float]:
    """Returns (tps, average latency ms) of a pgbench run."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    Path(f.name).chmod(0o644)
    out = subprocess.run(
        [str(find_bindir() / "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
         "-j", str(min(clients, 2)), "-T", str(max(1, round(seconds))), "-f", f.name, dsn],
        capture_output=True, text=True, check=True).stdout
    Path(f.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", out)[1])
    latency = float(re.search(r"latency average = ([\d.]+) ms", out)[1])
    return tps, latency


def pgbench_mixed(dsn: str, scripts: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """One pgbench run of several scripts at equal weight, each transaction picking one at
    random: returns each script's average latency (ms). Every variant meets the same load
    at the same moments, which separate runs on a shared machine cannot give."""
    files = {}
    for v, script in scripts.items():
        with tempfile.NamedTemporaryFile("w", suffix=f"_{v}.sql", delete=False) as f:
            f.write(script)
        Path(f.name).chmod(0o644)
        files[v] = f.name
    args = [str(find_bindir() / "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
            "-j", str(min(clients, 2)), "-T", str(max(1, round(seconds)))]
    for name in files.values():
        args += ["-f", f"{name}@1"]
    out = subprocess.run([*args, dsn], capture_output=True, text=True, check=True).stdout
    for name in files.values():
        Path(name).unlink()
    latency = {}
    for v, name in files.items():
        section = out.split(f": {name}\n", 1)[1]
        latency[v] = float(re.search(r"latency average = ([\d.]+) ms", section)[1])
    return latency


def update_sql(tbl: str) -> str:
    return (f"update public.{tbl} set balance = balance + 1, updated_at = now() "
            f"where brand_id = '{BRAND}' and id = ")


def update_script(tbl: str, rows: int) -> str:
    return f"\\set id random(1, {rows})\n{update_sql(tbl)}:id;\n"


def backend_cpu_us(conn, tbl: str, rows: int, statements: int) -> float:
    """Backend CPU per single-row UPDATE, in microseconds (the server process's own time)."""
    query = update_sql(tbl) + "%s"
    keys = [random.randint(1, rows) for _ in range(statements)]
    stat = Path(f"/proc/{conn.info.backend_pid}/schedstat")
    before = int(stat.read_text().split()[0])
    for k in keys:
        conn.execute(query, (k,), prepare=True)
    return (int(stat.read_text().split()[0]) - before) / statements / 1000


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    parser.add_argument("--seconds", type=float, default=2, help="seconds per pgbench run (default 2)")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="table size and bulk insert (default 100,000)")
    parser.add_argument("--bulk-rounds", type=int, default=2, help="rounds of the bulk insert (default 2)")
    parser.add_argument("--seal-seconds", type=float, default=6,
                        help="4-client run that leaves the captures each sealer then seals (default 6)")
    parser.add_argument("--mixed-rounds", type=int, default=5,
                        help="interleaved runs (all variants in one pgbench run) per client count "
                        "(default 5)")
    parser.add_argument("--mixed-seconds", type=float, default=3,
                        help="seconds per interleaved run (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s runs, 20,000 rows")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.rows, args.bulk_rounds, args.seal_seconds = 1, 1, 20_000, 1, 2
        args.mixed_rounds, args.mixed_seconds = 1, 2
    return args


def supa_audit_available(c) -> bool:
    with psycopg.connect(c.url(superuser=True, dbname="postgres"), autocommit=True) as conn:
        return bool(conn.execute(
            "select count(*) from pg_available_extension_versions "
            "where name = 'supa_audit' and version = '0.3.1'").fetchone()[0])


def spread(xs: list[float], fmt) -> str:
    return f"{fmt(min(xs))} .. {fmt(max(xs))}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run(variants: tuple[str, ...] = ("audit", "versions")) -> None:
    args = options()
    rounds, seconds, rows = args.rounds, args.seconds, args.rows
    c = cluster()
    name = "bench_capture"
    dsn = c.create_database(name)
    wanted = ["floor", "floor_definer", *variants]
    if supa_audit_available(c):
        wanted.append("supa_audit")
        with psycopg.connect(c.url(superuser=True, dbname=name), autocommit=True) as conn:
            conn.execute("create schema if not exists audit_supa")
            conn.execute("create extension if not exists supa_audit with schema audit_supa version '0.3.1'")
    else:
        print(SUPA_AUDIT_MISSING + "\n")
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

    def orders(n: int) -> list[list[str]]:
        # Rotate the start each round and reverse every other round: every variant runs
        # early, late, before and after each other one.
        out = []
        others = tables[1:]
        for rnd in range(n):
            order = others[rnd % len(others):] + others[:rnd % len(others)]
            out.append(order[::-1] if rnd % 2 else order)
        return out

    started_at = time.time()
    load = Path("/proc/loadavg").read_text().split()[:3]
    cpu_conns = {v: psycopg.connect(dsn, autocommit=True) for v in tables}
    for v in tables:  # warm every variant's caches (plans, trigger functions) once
        backend_cpu_us(cpu_conns[v], tbl[v], rows, 300)
        if not args.quick:
            pgbench(dsn, update_script(tbl[v], rows), 4, 1)

    def measure(v: str) -> dict[str, float]:
        return {"latency": pgbench(dsn, update_script(tbl[v], rows), 1, seconds)[1],
                "tps4": pgbench(dsn, update_script(tbl[v], rows), 4, seconds)[0],
                "cpu": backend_cpu_us(cpu_conns[v], tbl[v], rows, 1000)}

    # Each variant runs between two untracked runs and is compared with their mean: the
    # machine's load changes over seconds, so the baseline is taken next to each variant.
    raw: dict[tuple[str, str], list[float]] = {}
    ratio: dict[tuple[str, str], list[float]] = {}
    for order in orders(rounds):
        before = measure("plain")
        for m, x in before.items():
            raw.setdefault((m, "plain"), []).append(x)
        for v in order:
            got = measure(v)
            after = measure("plain")
            for m, x in got.items():
                raw.setdefault((m, v), []).append(x)
                raw[(m, "plain")].append(after[m])
                base = (before[m] + after[m]) / 2
                ratio.setdefault((m, v), []).append(x - base if m == "cpu" else x / base)
            before = after
        settle()  # the sealers run in the background in production; here between rounds
    for conn in cpu_conns.values():
        conn.close()
    # Interleaved: all variants in one pgbench run, transaction by transaction.
    scripts = {v: update_script(tbl[v], rows) for v in tables}
    for _ in range(args.mixed_rounds):
        for m, clients in (("mixed1", 1), ("mixed4", 4)):
            lat = pgbench_mixed(dsn, scripts, clients, args.mixed_seconds)
            for v in tables:
                raw.setdefault((m, v), []).append(lat[v])
                # mixed4: throughput at 4 clients relative to untracked = the latency ratio inverted
                ratio.setdefault((m, v), []).append(
                    lat[v] / lat["plain"] if m == "mixed1" else lat["plain"] / lat[v])
        settle()
    for order in orders(args.bulk_rounds):
        got = {}
        for v in ["plain", *order]:
            with psycopg.connect(dsn, autocommit=True) as conn:
                first = conn.execute(f"select max(id) + 1 from public.{tbl[v]}").fetchone()[0]
                t0 = time.perf_counter()
                conn.execute(
                    f"insert into public.{tbl[v]} select '{BRAND}', g, 0, 'title ' || g, "
                    f"repeat('lorem ipsum ', 10), now() "
                    f"from generate_series({first}, {first + rows - 1}) as g")
                got[v] = time.perf_counter() - t0
        for v, x in got.items():
            raw.setdefault(("bulk", v), []).append(x)
            ratio.setdefault(("bulk", v), []).append(x / got["plain"])
        settle()

    # The sealers against the write rate they must keep up with: a 4-client run leaves its
    # captures pending; one round seals them. The rate to keep up with is the higher of
    # that run's and the rounds' median.
    sealing: dict[str, tuple[float, int, float, float]] = {}
    for v in variants:
        settle()
        tps, _ = pgbench(dsn, update_script(tbl[v], rows), 4, args.seal_seconds)
        with psycopg.connect(dsn, autocommit=True) as conn:
            pending = conn.execute(PENDING[v]).fetchone()[0]
            t0 = time.perf_counter()
            done = conn.execute(SEAL[v]).fetchone()[0] + conn.execute(SEAL[v]).fetchone()[0]
            elapsed = time.perf_counter() - t0
        rate = max(tps, statistics.median(raw[("tps4", v)]))
        sealing[v] = (rate, done, done / elapsed if elapsed else 0.0, tps)
        assert pending == done, (v, pending, done)
    elapsed_total = time.time() - started_at

    med = {k: statistics.median(x) for k, x in raw.items()}
    rmed = {k: statistics.median(x) for k, x in ratio.items()}
    header(f"capture: tracked vs untracked ({rounds} rounds of {seconds:g} s, bulk {args.bulk_rounds} "
           f"rounds, {rows:,} rows; medians of per-round ratios, spread lowest .. highest)")
    print(f"load average at the start: {' '.join(load)}; measuring took {elapsed_total:.0f} s\n")
    pct = lambda x: f"{x - 1:+.1%}"  # noqa: E731
    share = lambda x: f"{x:.1%}"  # noqa: E731
    times = lambda x: f"{x:.2f}x"  # noqa: E731
    micro = lambda x: f"{x:+.0f} us"  # noqa: E731
    body = []
    for v in tables:
        first = v == "plain"
        body.append([
            NAMES.get(v, f"{v}.track"),
            f"{med[('latency', v)]:.3f} ms", "-" if first else pct(rmed[("latency", v)]),
            "" if first else spread(ratio[("latency", v)], pct),
            f"{med[('tps4', v)]:,.0f}", "-" if first else share(rmed[("tps4", v)]),
            "" if first else spread(ratio[("tps4", v)], share),
            f"{med[('bulk', v)]:.2f} s", "-" if first else times(rmed[("bulk", v)]),
            f"{med[('cpu', v)]:.0f} us", "-" if first else micro(rmed[("cpu", v)]),
            "" if first else spread(ratio[("cpu", v)], micro)])
    body.append(["target (audit, versions)", "", "<= +25%", "", "", ">= 75%", "", "", "<= 1.6x", "",
                 "reported", ""])
    table(["variant", "1 client latency", "vs untracked", "spread", "4 clients TPS", "vs untracked", "spread",
           "INSERT...SELECT", "vs untracked", "backend CPU / UPDATE", "added", "spread"], body)
    table(["variant (interleaved: one pgbench run, all variants)", "1 client latency", "vs untracked",
           "spread", "4 clients latency", "4-client throughput vs untracked", "spread"],
          [[NAMES.get(v, f"{v}.track"), f"{med[('mixed1', v)]:.3f} ms",
            "-" if v == "plain" else pct(rmed[("mixed1", v)]),
            "" if v == "plain" else spread(ratio[("mixed1", v)], pct),
            f"{med[('mixed4', v)]:.3f} ms", "-" if v == "plain" else share(rmed[("mixed4", v)]),
            "" if v == "plain" else spread(ratio[("mixed4", v)], share)] for v in tables]
          + [["target (audit, versions)", "", "<= +25%", "", "", ">= 75%", ""]])
    table(["sealer", "write rate to keep up with", "(its own 4-client run)", "sealed in one round",
           "sealed per second", "ratio", "target"],
          [[SEAL[v], f"{rate:,.0f}/s", f"{own:,.0f}/s", f"{done:,}", f"{sealed:,.0f}",
            f"{sealed / rate:.1f}x", ">= 3x (aim 4x)"] for v, (rate, done, sealed, own) in sealing.items()])
    print("verdicts (separate runs | interleaved):")
    for v in variants:
        lat, tps4, bulk = rmed[("latency", v)], rmed[("tps4", v)], rmed[("bulk", v)]
        mlat, mtps = rmed[("mixed1", v)], rmed[("mixed4", v)]
        rate, _, sealed, _ = sealing[v]
        print(f"- {v}: 1-client latency {pct(lat)} {verdict(lat <= 1.25)} | {pct(mlat)} "
              f"{verdict(mlat <= 1.25)} (<= +25%); 4-client TPS {share(tps4)} {verdict(tps4 >= 0.75)} | "
              f"{share(mtps)} {verdict(mtps >= 0.75)} (>= 75%); "
              f"INSERT...SELECT {times(bulk)} (<= 1.6x): {verdict(bulk <= 1.6)}; "
              f"sealer {sealed / rate:.1f}x (>= 3x): {verdict(sealed / rate >= 3)}; "
              f"added CPU {micro(rmed[('cpu', v)])} vs floor {micro(rmed[('cpu', 'floor')])}, "
              f"definer floor {micro(rmed[('cpu', 'floor_definer')])}")
    for f in ("floor", "floor_definer"):
        print(f"- {NAMES[f]}: latency {pct(rmed[('latency', f)])} | {pct(rmed[('mixed1', f)])}, "
              f"TPS {share(rmed[('tps4', f)])} | {share(rmed[('mixed4', f)])}, "
              f"bulk {times(rmed[('bulk', f)])} (the floor, measured in the same rounds)")
    if "supa_audit" not in wanted:
        print(f"- {SUPA_AUDIT_MISSING}")
    print()
    c.drop_database(name)


if __name__ == "__main__":
    run()
