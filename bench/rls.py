"""RLS cost: a brand-scoped select of 100 rows from a 1,000,000-row table spread over
1,000 brands, as an `authenticated` member through brand.isolate()'s policies, against
the same query as `service_role`; a per-row helper policy is shown for reference.
Target: authenticated within 1.3x of service_role. Variants alternate in rounds so
machine noise hits them alike.

    .venv/bin/python bench/rls.py [--rows 1000000] [--brands 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import psycopg
from common import cluster, header, table
from psycopg import sql

from brandbase import migrate, pack

SETUP = """
create table public.items (
    brand_id uuid not null references brand.brands (id),
    id bigint not null,
    title text not null,
    created_at timestamptz not null default now(),
    primary key (brand_id, id)
);
insert into brand.brands (id, slug, name)
select gen_random_uuid(), 'brand-' || g, 'Brand ' || g from generate_series(1, {brands}) as g;
insert into auth.users (id, email)
select gen_random_uuid(), 'user' || g || '@bench.test' from generate_series(1, {brands}) as g;
insert into brand.members (brand_id, user_id, tier)
select b.id, u.id, 'member'
from (select id, row_number() over (order by slug) as n from brand.brands) as b
join (select id, row_number() over (order by email) as n from auth.users) as u using (n);
insert into public.items (brand_id, id, title)
select b.id, g, 'item ' || g
from (select id, row_number() over (order by id) - 1 as n from brand.brands) as b,
     generate_series(1, {per_brand}) as g;
grant select on public.items to authenticated, service_role;
select brand.isolate('public.items', 'content.read');
-- The reference variant: the same rule written per row, as policies often are.
create table public.items_per_row (like public.items including all);
insert into public.items_per_row select * from public.items;
alter table public.items_per_row enable row level security;
create policy "per-row helper" on public.items_per_row for select to authenticated
    using (brand.has_permission(brand_id, 'content.read'));
grant select on public.items_per_row to authenticated;
analyze;
"""

QUERY = "select id, title, created_at from public.{table} where brand_id = %s order by id limit 100"
VARIANTS = [
    ("service_role", "service_role", "items"),
    ("authenticated, set form (brand.isolate)", "authenticated", "items"),
    ("authenticated, per-row helper", "authenticated", "items_per_row"),
]


def act_as(conn: psycopg.Connection, role: str, user_id) -> None:
    claims = '{"role": "service_role"}' if role == "service_role" else \
        f'{{"sub": "{user_id}", "role": "authenticated"}}'
    conn.execute("select set_config('request.jwt.claims', %s, false)", (claims,))
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--per-round", type=int, default=200)
    args = ap.parse_args()
    c = cluster()
    dsn = c.create_database("bench_rls")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        print(f"loading {args.rows:,} rows over {args.brands:,} brands ...", flush=True)
        conn.execute(sql.SQL(SETUP).format(brands=sql.Literal(args.brands),
                                           per_brand=sql.Literal(args.rows // args.brands)))
        pairs = conn.execute("select m.brand_id, m.user_id from brand.members as m").fetchall()

    rng = random.Random(42)
    samples: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    rows_seen: dict[str, int] = {}
    conns = {name: psycopg.connect(dsn, autocommit=True) for name, _, _ in VARIANTS}
    for rnd in range(args.rounds):
        order = VARIANTS if rnd % 2 == 0 else VARIANTS[::-1]
        for name, role, tbl in order:
            conn = conns[name]
            brand_id, user_id = rng.choice(pairs)
            conn.execute("reset role")
            act_as(conn, role, user_id)
            query = QUERY.format(table=tbl)
            for _ in range(args.per_round):
                started = time.perf_counter()
                rows = conn.execute(query, (brand_id,), prepare=True).fetchall()
                samples[name].append(time.perf_counter() - started)
            rows_seen[name] = len(rows)
    base = statistics.median(samples["service_role"])
    header(f"RLS cost: 100-row select, {args.rows:,} rows / {args.brands:,} brands")
    table(["caller", "rows returned", "median latency", "p95", "ratio to service_role"], [
        [name, rows_seen[name], f"{statistics.median(s) * 1000:.3f} ms",
         f"{statistics.quantiles(s, n=20)[18] * 1000:.3f} ms",
         f"{statistics.median(s) / base:.2f}x"] for name, s in samples.items()
    ])
    for conn in conns.values():
        conn.close()
    c.drop_database("bench_rls")


if __name__ == "__main__":
    main()
