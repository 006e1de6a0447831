"""i18n: i18n.bundle() of 2,000 keys through a 3-step fallback chain (de-AT -> de -> en),
median of single calls; i18n.t() with one plural, a plain message, and the floor (a PL/pgSQL
function doing one indexed lookup of the same table, nothing else) under pgbench (8 clients)
beside `select 1` in the same run, alternating rounds.

    .venv/bin/python bench/i18n.py [--rounds 3] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
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
    c.drop_database("bench_i18n")

    med = {name: statistics.median(v) for name, v in results.items()}
    header(
        f"i18n: {CLIENTS} pgbench clients (-M prepared), {args.rounds} alternating rounds of {args.seconds} s"
    )
    rows = []
    for name, label, target in (
        ("select 1", "select 1 (same run)", "-"),
        ("floor", "floor: PL/pgSQL definer, one indexed lookup, no formatting", "-"),
        ("t plural", "i18n.t() with one plural, de-AT -> de (3-step chain)", ">= 40%"),
        ("t plain", "i18n.t() of a message without arguments, de-AT chain", "-"),
    ):
        rows.append(
            [
                label,
                f"{med[name]:,.0f} tps ({statistics.median(latency[name]):.3f} ms)",
                f"{med[name] / med['select 1']:.0%}",
                target,
            ]
        )
    rows.append(
        [
            f"i18n.bundle('de-AT'): {keys:,} keys, 3-step fallback, median round trip",
            f"{b_ms:.2f} ms",
            f"select 1: {b_floor:.3f} ms",
            "< 5 ms",
        ]
    )
    table(["what", "throughput / time", "vs select 1", "target"], rows)


if __name__ == "__main__":
    main()
