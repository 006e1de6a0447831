"""Flag evaluation: flags.evaluate() of a flag with 5 constraints and a 50% rollout under
pgbench (8 clients) beside `select 1` in the same run, alternating; flags.evaluate_all() over
200 flags (median of single calls); and the same flags in-process in Unleash's engine
(yggdrasil-engine, which the UnleashClient SDK 6 runs inside), with brandbase's buckets
compared to theirs for 100,000 user ids.

The floor is measured in the same run, alternating with the rest: `select 1`, and the least
any definer-guarded evaluation can cost, a PL/pgSQL and a SQL SECURITY DEFINER function with
a pinned search_path doing one primary-key lookup and returning the row as jsonb.

    .venv/bin/python bench/flags.py [--rounds 3] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
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
FLAGS = 200

TARGET = {
    "name": "bench.target",
    "enabled": True,
    "strategies": [
        {
            "name": "flexibleRollout",
            "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "bench.target"},
            "constraints": [
                {"contextName": "appVersion", "operator": "SEMVER_GT", "value": "2.0.0"},
                {
                    "contextName": "email",
                    "operator": "STR_ENDS_WITH",
                    "values": ["@acme.test"],
                    "caseInsensitive": True,
                },
                {"contextName": "age", "operator": "NUM_GTE", "value": "18"},
                {"contextName": "country", "operator": "IN", "values": ["DE", "FR", "NL", "SE"]},
                {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2020-01-01T00:00:00Z"},
            ],
        }
    ],
}

CONTEXT_SQL = (
    "jsonb_build_object('userId', :u::text, 'properties', jsonb_build_object("
    "'appVersion', '2.3.1', 'email', 'ann@ACME.test', 'age', '30', 'country', 'DE'))"
)
EVALUATE = f"\\set u random(1, 100000)\nselect * from flags.evaluate('bench.target', {CONTEXT_SQL});\n"
SIMPLE = (
    "\\set u random(1, 100000)\n"
    "select * from flags.evaluate('bench.flag.004', jsonb_build_object('userId', :u::text));\n"
)
FLOOR_PLPGSQL = "select bench.floor_plpgsql('bench.target');\n"
FLOOR_SQL = "select bench.floor_sql('bench.target');\n"
ENABLED = "select count(*) from bench.guarded;\n"
NOT_GUARDED = "select count(*) from bench.unguarded;\n"

# the floor: a definer (pinned search_path, as every pack definer) doing one primary-key lookup
FLOOR_DDL = """
create schema bench;
create function bench.floor_plpgsql(k text) returns jsonb language plpgsql stable security definer
set search_path = pg_catalog, pg_temp as $$
declare r jsonb;
begin
    select pg_catalog.to_jsonb(f) into r from flags.flags as f where f.key = k;
    return r;
end $$;
create function bench.floor_sql(k text) returns jsonb language sql stable security definer
set search_path = pg_catalog, pg_temp as $$
    select pg_catalog.to_jsonb(f) from flags.flags as f where f.key = k
$$;
-- flags.enabled() in an RLS policy, written as the docs say (once per statement), over 100 rows
create table bench.guarded (id int primary key);
insert into bench.guarded select generate_series(1, 100);
alter table bench.guarded enable row level security;
alter table bench.guarded force row level security;
create policy "rows while bench.flag.004 is on" on bench.guarded for select
    using ((select flags.enabled('bench.flag.004')));
create table bench.unguarded (id int primary key);
insert into bench.unguarded select generate_series(1, 100);
"""


def features() -> list[dict]:
    rnd = random.Random(5)
    out = [TARGET]
    for i in range(1, FLAGS):
        kind = i % 4
        strategies = [
            [{"name": "default"}],
            [
                {
                    "name": "userWithId",
                    "parameters": {"userIds": ",".join(str(rnd.randrange(1000)) for _ in range(20))},
                }
            ],
            [
                {
                    "name": "flexibleRollout",
                    "parameters": {"rollout": str(rnd.randrange(101)), "stickiness": "default"},
                    "constraints": [
                        {"contextName": "country", "operator": "NOT_IN", "values": ["XX", "YY"]},
                        {"contextName": "appVersion", "operator": "SEMVER_LT", "value": "9.0.0"},
                    ],
                }
            ],
            [],
        ][kind]
        variants = (
            [
                {
                    "name": f"v{j}",
                    "weight": 250,
                    "stickiness": "default",
                    "payload": {"type": "string", "value": f"p{j}"},
                }
                for j in range(4)
            ]
            if i % 3 == 0
            else []
        )
        out.append(
            {
                "name": f"bench.flag.{i:03d}",
                "enabled": i % 10 != 0,
                "strategies": strategies,
                "variants": variants,
            }
        )
    return out


def context(u: str) -> dict:
    return {
        "userId": u,
        "properties": {"appVersion": "2.3.1", "email": "ann@ACME.test", "age": "30", "country": "DE"},
    }


def evaluate_all_ms(dsn: str, runs: int) -> tuple[float, float]:
    """Medians (ms) of flags.evaluate_all() for 200 flags and of select 1, alternating."""
    samples: dict[str, list[float]] = {"all": [], "select 1": []}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(runs + 5):  # the first 5: the session's plans and function caches
            for name in ("all", "select 1"):
                started = time.perf_counter()
                if name == "all":
                    rows = conn.execute(
                        "select * from flags.evaluate_all(%s)", (Jsonb(context(str(i))),), prepare=True
                    ).fetchall()
                    assert len(rows) == FLAGS
                else:
                    conn.execute("select 1", prepare=True).fetchall()
                if i >= 5:
                    samples[name].append((time.perf_counter() - started) * 1000)
    return statistics.median(samples["all"]), statistics.median(samples["select 1"])


def engine_numbers(state: dict, runs: int) -> tuple[float, float]:
    """Unleash's engine in-process: µs per is_enabled of the target, ms per all 200 flags."""
    from yggdrasil_engine.engine import UnleashEngine

    engine = UnleashEngine()
    engine.take_state(json.dumps(state))
    names = [f["name"] for f in state["features"]]
    started = time.perf_counter()
    for i in range(runs * 50):
        engine.is_enabled("bench.target", context(str(i)))
    one = (time.perf_counter() - started) / (runs * 50) * 1e6
    samples = []
    for i in range(runs):
        t = time.perf_counter()
        for n in names:
            engine.get_variant(n, context(str(i)))
        samples.append((time.perf_counter() - t) * 1000)
    return one, statistics.median(samples)


def buckets_equal(dsn: str, n: int) -> tuple[int, int]:
    """How many of n user ids land in the same rollout bucket (SQL vs the SDK's hash) and the same
    variant (SQL vs the engine)."""
    from UnleashClient.utils import normalized_hash
    from yggdrasil_engine.engine import UnleashEngine

    rnd = random.Random(9)
    ids = [str(i) for i in range(n // 2)] + [
        f"{rnd.getrandbits(64):x}@example.com" for _ in range(n - n // 2)
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        ours = conn.execute(
            "select flags.normalized_value(i, 'bench.target', 100), "
            "flags.normalized_value(i, 'bench.probe', 100, 86028157) "
            "from unnest(%s::text[]) with ordinality as t (i, k) order by k",
            (ids,),
        ).fetchall()
    engine = UnleashEngine()
    engine.take_state(
        json.dumps(
            {
                "version": 1,
                "features": [
                    {
                        "name": "bench.probe",
                        "enabled": True,
                        "strategies": [{"name": "default"}],
                        "variants": [
                            {"name": f"v{j}", "weight": 1, "stickiness": "userId"} for j in range(1, 101)
                        ],
                    }
                ],
            }
        )
    )
    rollout = sum(o[0] == normalized_hash(i, "bench.target") for i, o in zip(ids, ours, strict=True))
    variant = sum(
        f"v{o[1]}" == engine.get_variant("bench.probe", {"userId": i}).variant.name
        for i, o in zip(ids, ours, strict=True)
    )
    return rollout, variant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="alternating pgbench rounds (default 3)")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per pgbench run (default 10)")
    ap.add_argument("--ids", type=int, default=100_000, help="user ids whose buckets are compared")
    ap.add_argument("--quick", action="store_true", help="a short run (2 rounds of 2 s, 10,000 ids)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.ids = 2, 2, 10_000
    c = cluster()
    dsn = c.create_database("bench_flags")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        conn.execute("select flags.import_unleash(%s)", (Jsonb({"features": features()}),))
        conn.execute(FLOOR_DDL)
        conn.execute("analyze")
        state = conn.execute("select flags.export_unleash()").fetchone()[0]
    scripts = {
        "select 1": "select 1;\n",
        "floor plpgsql": FLOOR_PLPGSQL,
        "floor sql": FLOOR_SQL,
        "evaluate": EVALUATE,
        "simple": SIMPLE,
        "unguarded": NOT_GUARDED,
        "guarded": ENABLED,
    }
    results: dict[str, list[float]] = {name: [] for name in scripts}
    latency: list[float] = []
    for _ in range(args.rounds):
        for name, script in scripts.items():
            tps, lat = pgbench(dsn, script, CLIENTS, args.seconds)
            results[name].append(tps)
            if name == "evaluate":
                latency.append(lat)
    tps = {name: statistics.median(v) for name, v in results.items()}
    select1 = tps["select 1"]
    evaluate = tps["evaluate"]
    all_ms, floor_ms = evaluate_all_ms(dsn, 60 if args.quick else 300)
    one_us, engine_all_ms = engine_numbers(state, 60 if args.quick else 300)
    rollout_eq, variant_eq = buckets_equal(dsn, args.ids)
    c.drop_database("bench_flags")

    header(
        f"flags: evaluation, {CLIENTS} pgbench clients, {args.rounds} alternating rounds of {args.seconds} s"
    )
    table(
        ["what", "throughput / time", "vs select 1", "target"],
        [
            ["select 1 (pgbench -M prepared, same run)", f"{select1:,.0f} tps", "100%", "-"],
            [
                "floor: PL/pgSQL definer, one primary-key lookup, returns jsonb",
                f"{tps['floor plpgsql']:,.0f} tps",
                f"{tps['floor plpgsql'] / select1:.0%}",
                "-",
            ],
            [
                "floor: SQL definer, one primary-key lookup, returns jsonb",
                f"{tps['floor sql']:,.0f} tps",
                f"{tps['floor sql'] / select1:.0%}",
                "-",
            ],
            [
                "flags.evaluate(): 5 constraints + 50% rollout",
                f"{evaluate:,.0f} tps ({statistics.median(latency):.3f} ms)",
                f"{evaluate / select1:.0%} (floor: {evaluate / tps['floor plpgsql']:.0%})",
                ">= 50%",
            ],
            [
                "flags.evaluate(): a flag with the default strategy",
                f"{tps['simple']:,.0f} tps",
                f"{tps['simple'] / select1:.0%} (floor: {tps['simple'] / tps['floor plpgsql']:.0%})",
                "-",
            ],
            [
                "count(*) of 100 rows, no policy",
                f"{tps['unguarded']:,.0f} tps",
                f"{tps['unguarded'] / select1:.0%}",
                "-",
            ],
            [
                "count(*) of 100 rows under a (select flags.enabled(...)) policy",
                f"{tps['guarded']:,.0f} tps",
                f"{tps['guarded'] / tps['unguarded']:.0%} of no policy",
                "-",
            ],
            [
                f"flags.evaluate_all(): {FLAGS} flags, one call (median of {60 if args.quick else 300})",
                f"{all_ms:.2f} ms",
                f"select 1: {floor_ms:.3f} ms",
                "< 2 ms",
            ],
            [
                "Unleash engine (yggdrasil-engine) in-process: is_enabled of the target",
                f"{one_us:.1f} µs",
                "-",
                "-",
            ],
            [
                f"Unleash engine in-process: all {FLAGS} flags (get_variant each)",
                f"{engine_all_ms:.2f} ms",
                "-",
                "-",
            ],
            [
                f"rollout buckets equal to UnleashClient's normalized_hash ({args.ids:,} ids)",
                f"{rollout_eq:,} / {args.ids:,}",
                "-",
                "all",
            ],
            [
                f"variant buckets equal to the engine's ({args.ids:,} ids)",
                f"{variant_eq:,} / {args.ids:,}",
                "-",
                "all",
            ],
        ],
    )


if __name__ == "__main__":
    main()
