"""Operator tools for module search: reindex, stats, and trying a query as a brand's user.

The SQL does the work (sql/search/); these run it as the pack owner over a DSN.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql


class SearchError(Exception):
    """A failure the CLI reports in one line."""


ENABLED_SQL = "select target::text from search.indexed order by 1"

INDEXES_SQL = """
select c.oid::regclass::text, pg_relation_size(c.oid)
from pg_index as i join pg_class as c on c.oid = i.indexrelid
where i.indrelid = %s::regclass and c.relname like '%%\\_search\\_%%'
order by 1
"""

STATS_SQL = """
select
    i.target::text,
    i.config::text,
    i.columns::text,
    i.composite_gin,
    i.unaccent,
    coalesce(c.reltuples, 0)::bigint,
    pg_table_size(i.target::regclass),
    (select coalesce(sum(pg_relation_size(x.indexrelid)), 0) from pg_index as x
     join pg_class as ic on ic.oid = x.indexrelid
     where x.indrelid = i.target::regclass and ic.relname like '%%\\_search\\_%%'),
    (select count(*) from search.queries as q
     where q.table_name = i.target::text and q.created_at > now() - interval '30 days'),
    (select count(*) filter (where q.hits = 0) from search.queries as q
     where q.table_name = i.target::text and q.created_at > now() - interval '30 days'),
    (select percentile_cont(array[0.5, 0.95]) within group (order by q.latency_ms) from search.queries as q
     where q.table_name = i.target::text and q.created_at > now() - interval '30 days')
from search.indexed as i
join pg_class as c on c.oid = i.target::regclass
order by 1
"""


@dataclass
class TableStats:
    table: str
    config: str
    columns: str
    composite_gin: bool
    unaccent: bool
    rows: int
    table_bytes: int
    index_bytes: int
    searches_30d: int
    zero_result_30d: int
    latency_ms: list[float] | None


def _qualified(conn: psycopg.Connection) -> None:
    """Relation names print schema-qualified, as the pack's functions store them."""
    conn.execute("select set_config('search_path', 'pg_catalog, pg_temp', false)")


def enabled(conn: psycopg.Connection) -> list[str]:
    _qualified(conn)
    return [r[0] for r in conn.execute(ENABLED_SQL)]


def _check_table(conn: psycopg.Connection, table: str | None) -> list[str]:
    tables = enabled(conn)
    if table is None:
        return tables
    resolved = conn.execute("select to_regclass(%s)::text", (table,)).fetchone()[0]
    if resolved is None:
        raise SearchError(f"table {table} does not exist\n"
                          "  hint: name it schema-qualified, e.g. public.posts")
    if resolved not in tables:
        raise SearchError(f"table {table} is not search-enabled\n"
                          "  hint: select search.enable('schema.table', '{\"title\": \"A\"}')")
    return [resolved]


def reindex(conn: psycopg.Connection, table: str | None = None, log=print) -> list[tuple[str, float]]:
    """REINDEX CONCURRENTLY each index search.enable() made, rebuild the lexicon, then ANALYZE
    the table (the planner's choice between the GIN and the recency scan rests on the
    vector's statistics)."""
    if not conn.autocommit:
        raise SearchError("reindex needs an autocommit connection (REINDEX CONCURRENTLY)")
    done = []
    for target in _check_table(conn, table):
        for index, _ in conn.execute(INDEXES_SQL, (target,)).fetchall():
            t = time.perf_counter()
            conn.execute(sql.SQL("reindex index concurrently {}").format(sql.SQL(index)))
            done.append((index, time.perf_counter() - t))
            log(f"reindexed {index} in {done[-1][1]:.1f} s")
        words = conn.execute("select search.refresh_lexicon(%s::regclass)", (target,)).fetchone()[0]
        log(f"lexicon of {target}: {words:,} words")
        conn.execute(sql.SQL("analyze {}").format(sql.SQL(target)))
    return done


def stats(conn: psycopg.Connection) -> list[TableStats]:
    _qualified(conn)
    return [TableStats(*r) for r in conn.execute(STATS_SQL).fetchall()]


def try_query(conn: psycopg.Connection, table: str, q: str, brand: str, user: str | None = None,
              options: dict | None = None) -> tuple[dict, float, str]:
    """Run search.query() as PostgREST would for a member of the brand (its owner unless a
    user's email is given), in a transaction that is rolled back (the try is not logged)."""
    target = _check_table(conn, table)[0]
    row = conn.execute("select id from brand.brands where id::text = %s or slug = %s",
                       (brand, brand)).fetchone()
    if row is None:
        raise SearchError(f"brand {brand} not found\n  hint: pass its id or slug")
    brand_id = row[0]
    if user:
        member = conn.execute("select m.user_id, u.email from brand.members as m join auth.users as u "
                              "on u.id = m.user_id where m.brand_id = %s and u.email = %s",
                              (brand_id, user.lower())).fetchone()
    else:
        member = conn.execute("select m.user_id, u.email from brand.members as m join auth.users as u "
                              "on u.id = m.user_id where m.brand_id = %s order by m.tier = 'owner' desc, "
                              "m.user_id limit 1", (brand_id,)).fetchone()
    if member is None:
        raise SearchError(f"no such member of brand {brand}\n  hint: pass --user EMAIL of a member")
    opts = {**(options or {}), "brand_id": str(brand_id)}
    claims = json.dumps({"sub": str(member[0]), "role": "authenticated", "email": member[1]})
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute("set local role authenticated")
            t = time.perf_counter()
            result = conn.execute("select search.query(%s::regclass, %s, %s::jsonb)",
                                  (target, q, json.dumps(opts))).fetchone()[0]
            elapsed = time.perf_counter() - t
    except psycopg.Error as exc:
        d = exc.diag
        raise SearchError(f"{exc.sqlstate}: {d.message_primary}"
                          + (f"\n  hint: {d.message_hint}" if d.message_hint else "")) from None
    return result, elapsed, member[1]
