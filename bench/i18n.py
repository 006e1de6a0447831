"""i18n: i18n.bundle() of 2,000 keys through a 3-step fallback chain (de-AT -> de -> en),
median of single calls; i18n.t() with one plural, a plain message, a message with one {name}
argument, and the floor (a PL/pgSQL definer doing one indexed lookup of the same table,
nothing else) under pgbench (8 clients) beside `select 1` in the same run, alternating
rounds; then the backend CPU per call of each (the server process's own time, variants
alternating), which moves far less with the machine's load than throughput does. Prints
each target's figure and verdict.

    .venv/bin/python bench/i18n.py [--rounds 3] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture import pgbench  # noqa: E402
from common import cluster, header, table  # noqa: E402

from brandbase import migrate, pack  # noqa: E402

CLIENTS = 8
KEYS = 2000

FLOOR_SQL = """
create or replace function public.bench_floor(k text)
returns text
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    out text;
begin
    select m.published_source into out from i18n.messages as m
    where m.namespace = 'common' and m.locale = 'en' and m.key = k;
    return out;
end
$$;
"""

SCRIPTS = {
    "select 1": "select 1;\n",
    "floor": "\\set k random(0, 1999)\nselect public.bench_floor('key.' || :k);\n",
    "t plural": (
        "\\set n random(0, 20)\n"
        "select i18n.t('cart.items', 'de-AT', jsonb_build_object('count', (:n)::integer));\n"
    ),
    "t plain": "\\set k random(0, 1999)\nselect i18n.t('key.' || :k, 'de-AT');\n",
    "t arg": (
        "\\set k random(0, 199)\n"
        "select i18n.t('key.' || (10 * :k + 1), 'de-AT', jsonb_build_object('name', 'Ann'));\n"
    ),
}
PLURAL_TARGET = 0.40  # t() with one plural: at least 40% of select 1's throughput
BUNDLE_TARGET_MS = 5.0

# the same statements for the backend CPU per call (psycopg parameters)
CPU_SQL = {
    "select 1": ("select 1", lambda i: ()),
    "floor": ("select public.bench_floor(%s)", lambda i: (f"key.{i % 2000}",)),
    "t plural": (
        "select i18n.t('cart.items', 'de-AT', jsonb_build_object('count', %s::integer))",
        lambda i: (i % 21,),
    ),
    "t plain": ("select i18n.t(%s, 'de-AT')", lambda i: (f"key.{i % 2000}",)),
    "t arg": (
        "select i18n.t(%s, 'de-AT', jsonb_build_object('name', 'Ann'))",
        lambda i: (f"key.{10 * (i % 200) + 1}",),
    ),
}


def seed(conn: psycopg.Connection) -> None:
    conn.execute("select i18n.set_locale('de'), i18n.set_locale('de-AT')")
    rows = []
    for i in range(KEYS):
        rows.append(
            {"namespace": "common", "key": f"key.{i}", "locale": "en", "source": f"Text {i} for {{name}}"}
        )
        if i % 2 == 0:
            rows.append(
                {"namespace": "common", "key": f"key.{i}", "locale": "de", "source": f"Text {i} für {{name}}"}
            )
        if i % 5 == 0:
            rows.append(
                {"namespace": "common", "key": f"key.{i}", "locale": "de-AT", "source": f"Text {i} (AT)"}
            )
    plural = "{count, plural, =0 {Keine Artikel} one {# Artikel} other {# Artikel}} im Warenkorb"
    rows.append({"namespace": "common", "key": "cart.items", "locale": "de", "source": plural})
    conn.execute("select i18n.import_messages(%s)", (Jsonb(rows),))
    conn.execute(FLOOR_SQL)
    conn.execute("grant execute on function public.bench_floor(text) to public")
    conn.execute("analyze")


def bundle_ms(dsn: str, runs: int) -> tuple[float, float, int]:
    """Median round trip of i18n.bundle('de-AT') and of select 1, and the keys it returned."""
    with psycopg.connect(dsn) as conn:
        keys = len(conn.execute("select i18n.bundle('de-AT')").fetchone()[0])
        samples, floor = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            conn.execute("select i18n.bundle('de-AT')").fetchone()
            samples.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            conn.execute("select 1").fetchone()
            floor.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000, statistics.median(floor) * 1000, keys


def backend_cpu(dsn: str, rounds: int, calls: int) -> dict[str, float] | None:
    """Median backend CPU per call (µs) of each statement, variants alternating; None when
    this user may not read the server process's /proc entry."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        stat = f"/proc/{conn.info.backend_pid}/schedstat"
        if not os.access(stat, os.R_OK):
            return None

        def cpu_ns() -> int:
            with open(stat) as f:
                return int(f.read().split()[0])

        for query, args in CPU_SQL.values():  # warm the plan caches
            for i in range(200):
                conn.execute(query, args(i), prepare=True)
        samples: dict[str, list[float]] = {name: [] for name in CPU_SQL}
        order = list(CPU_SQL)
        for r in range(rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                query, args = CPU_SQL[name]
                t0 = cpu_ns()
                for i in range(calls):
                    conn.execute(query, args(i), prepare=True)
                samples[name].append((cpu_ns() - t0) / calls / 1000)
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="alternating pgbench rounds (default 3)")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per pgbench run (default 10)")
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s, 50 bundle calls")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 3
    c = cluster()
    with contextlib.suppress(Exception):  # not there yet
        c.drop_database("bench_i18n")
    dsn = c.create_database("bench_i18n")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        seed(conn)
    results: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    latency: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    for _ in range(args.rounds):
        for name, script in SCRIPTS.items():
            tps, lat = pgbench(dsn, script, CLIENTS, args.seconds)
            results[name].append(tps)
            latency[name].append(lat)
    b_ms, b_floor, keys = bundle_ms(dsn, 50 if args.quick else 300)
    cpu = backend_cpu(dsn, 3, 500 if args.quick else 2000)
    c.drop_database("bench_i18n")
    load = os.getloadavg()

    med = {name: statistics.median(v) for name, v in results.items()}
    header(
        f"i18n: {CLIENTS} pgbench clients (-M prepared), {args.rounds} alternating rounds of {args.seconds} s"
    )
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    rows = []
    for name, label, target in (
        ("select 1", "select 1 (same run)", "-"),
        ("floor", "floor: PL/pgSQL definer, one indexed lookup, no formatting", "-"),
        ("t plural", "i18n.t() with one plural, de-AT -> de (3-step chain)", f">= {PLURAL_TARGET:.0%}"),
        ("t plain", "i18n.t() of a message without arguments, de-AT chain", "-"),
        ("t arg", "i18n.t() of a message with one {name}, de-AT -> en", "-"),
    ):
        rows.append(
            [
                label,
                f"{med[name]:,.0f} tps ({statistics.median(latency[name]):.3f} ms)",
                " / ".join(f"{v:,.0f}" for v in results[name]),
                f"{med[name] / med['select 1']:.0%}",
                f"{cpu[name]:.1f} µs" if cpu else "-",
                target,
            ]
        )
    rows.append(
        [
            f"i18n.bundle('de-AT'): {keys:,} keys, 3-step fallback, median round trip",
            f"{b_ms:.2f} ms",
            "-",
            f"select 1: {b_floor:.3f} ms",
            "-",
            f"< {BUNDLE_TARGET_MS:.0f} ms",
        ]
    )
    table(["what", "throughput / time", "rounds", "vs select 1", "backend CPU / call", "target"], rows)
    ratio = med["t plural"] / med["select 1"]
    floor = med["floor"] / med["select 1"]
    print(
        f"t() with one plural: {ratio:.0%} of select 1 (target >= {PLURAL_TARGET:.0%}; "
        f"the floor: {floor:.0%}; t() plural / floor {med['t plural'] / med['floor']:.2f}): "
        + ("met" if ratio >= PLURAL_TARGET else "MISSED")
    )
    print(
        f"i18n.bundle: {b_ms:.2f} ms (target < {BUNDLE_TARGET_MS:.0f} ms): "
        + ("met" if b_ms < BUNDLE_TARGET_MS else "MISSED")
    )
    if cpu:
        print(
            f"backend CPU per call: t() plural {cpu['t plural']:.1f} µs, floor {cpu['floor']:.1f} µs, "
            f"select 1 {cpu['select 1']:.1f} µs"
        )


if __name__ == "__main__":
    main()
