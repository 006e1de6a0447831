"""Index advice against a fixture schema whose useful indexes were removed: does
`explain --advise` find each one? Reports found / missed, including a composite index a
single-column adviser would miss and a partial index.

    .venv/bin/python bench/advise.py
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import psycopg
from common import cluster, header, table

from brandbase import advise, explain, migrate, pack

FIXTURE = """
create schema fixture;
create table fixture.customers (
    brand_id uuid not null, id bigint not null, email text not null, country text not null,
    primary key (brand_id, id)
);
create table fixture.orders (
    brand_id uuid not null, id bigint not null, customer_id bigint not null, status text not null,
    total numeric not null, created_at timestamptz not null, archived_at timestamptz,
    primary key (brand_id, id)
);
insert into fixture.customers
select md5('b' || (g % 200))::uuid, g, 'c' || g || '@example.test', (array['DE', 'FR', 'US'])[1 + g % 3]
from generate_series(1, 60000) as g;
insert into fixture.orders
select md5('b' || (g % 200))::uuid, g, 1 + (g::bigint * 7919) % 60000,
       (array['open', 'paid', 'shipped', 'refunded', 'cancelled'])[1 + (g * 31) % 5], g % 500,
       now() - ((g::bigint * 104729) % 365) * interval '1 day',
       case when g % 200 = 0 then null else now() end
from generate_series(1, 300000) as g;
"""

# Each query, and the index that was "removed" and must be found (columns | predicate).
QUERIES = {
    "orders_of_a_customer": ("select * from fixture.orders where customer_id = 4242",
                             "customer_id|"),
    "recent_refunds": ("select * from fixture.orders where status = 'refunded' "
                       "and created_at > now() - interval '7 days' order by created_at desc limit 20",
                       "status,created_at desc|"),
    "customer_by_email": ("select * from fixture.customers where email = 'c777@example.test'",
                          "email|"),
    "open_unarchived": ("select id, total from fixture.orders where status = 'open' and archived_at is null",
                        "status|archived_at is null"),
}


def normalise(index_sql: str) -> str:
    m = re.search(r"\((.*)\)(?: where (.*))?$", index_sql)
    cols = ",".join(c.strip().replace('"', "") for c in m[1].split(","))
    return f"{cols}|{m[2] or ''}"


def main() -> None:
    c = cluster()
    dsn = c.create_database("bench_advise")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load())
        conn.execute(FIXTURE)
        conn.execute("analyze fixture.orders, fixture.customers")
    catalog = "\n".join(f"-- query: {name}\n-- as: owner\n{q};\n" for name, (q, _) in QUERIES.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fixture.sql"
        path.write_text(catalog)
        queries = explain.parse_catalog(path)
    with psycopg.connect(dsn) as conn:
        params = explain.parameters(conn)
        reports = explain.run(conn, queries, params)
        proposals = {a.query: a for a in advise.advise(conn, reports, params)}
    rows, found = [], 0
    for name, (_, expected) in QUERIES.items():
        a = proposals.get(name)
        got = normalise(a.index) if a else "-"
        hit = got == expected
        found += hit
        rows.append([name, expected, got, f"{a.cost_before:,.0f} -> {a.cost_after:,.0f}" if a else "-",
                     "found" if hit else "MISSED"])
    header(f"Index advice on a fixture with {len(QUERIES)} removed indexes: {found} found, "
           f"{len(QUERIES) - found} missed")
    table(["query", "removed index (cols|predicate)", "advised", "cost before -> after", ""], rows)
    c.drop_database("bench_advise")


if __name__ == "__main__":
    main()
