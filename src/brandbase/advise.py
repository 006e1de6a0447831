"""Index advice for `brandbase explain --advise`: for each query that scans a large table
sequentially, propose indexes from the plan — equality columns first (brand_id leading),
then range columns, then the sort keys; single columns; partial indexes for IS NULL
filters — and prove each with a hypothetical index (hypopg): planner cost before and
after, as the same role. The cheapest candidate that at least halves the cost wins."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .explain import Query, Report, bind, set_role

PREDICATE = re.compile(
    r"\(?(?:\w+\.)?\"?(\w+)\"?\)?(?:::\w+)?\s+(=|<>|<=|>=|<|>|~~|IS NULL|IS NOT NULL)")
SORT_KEY = re.compile(r"^(?:\w+\.)?\"?(\w+)\"?(\s+DESC)?")


@dataclass(frozen=True)
class Advice:
    query: str
    table: str
    index: str
    cost_before: float
    cost_after: float

    @property
    def gain(self) -> float:
        return self.cost_before / max(self.cost_after, 0.01)


def hypopg_schema(conn: psycopg.Connection) -> str | None:
    """Where hypopg is installed (its functions are called schema-qualified), or None."""
    row = conn.execute("select extnamespace::regnamespace::text from pg_extension "
                       "where extname = 'hypopg'").fetchone()
    return row[0] if row else None


def _seq_scans(node: dict, sort_keys: list[str]) -> list[tuple[dict, list[str]]]:
    """(Seq Scan node, sort keys above it) for every sequential scan in the plan."""
    keys = node.get("Sort Key", sort_keys) if node["Node Type"] in ("Sort", "Incremental Sort") \
        else sort_keys
    found = [(node, keys)] if node["Node Type"] == "Seq Scan" else []
    for child in node.get("Plans", []):
        found += _seq_scans(child, keys)
    return found


def candidates(columns: set[str], scan: dict, sort_keys: list[str]) -> list[tuple[list[str], str]]:
    """Column lists (with an optional partial-index predicate) worth trying."""
    filt = scan.get("Filter", "")
    equal, ranged, null_cols = [], [], []
    for col, op in PREDICATE.findall(filt):
        if col not in columns:
            continue
        target = null_cols if op == "IS NULL" else equal if op == "=" else ranged
        if col not in target:
            target.append(col)
    equal.sort(key=lambda c: c != "brand_id")  # brand-scoped lookups lead with brand_id
    # After the equality columns: the sort keys (with their direction), then range columns.
    tail: list[str] = []
    for key in sort_keys:
        m = SORT_KEY.match(key.strip())
        if m and m[1] in columns and m[1] not in equal:
            tail.append(m[1] + (" desc" if m[2] else ""))
    tail += [c for c in ranged if c not in equal and c not in {t.split()[0] for t in tail}]
    where = " and ".join(f"{c} is null" for c in null_cols)
    options: list[tuple[list[str], str]] = []
    composite = equal + tail
    if composite:
        options.append((composite, ""))
        if where:
            options.append((composite, where))
    options += [([c], "") for c in equal + ranged]
    if where and equal:
        options.append((equal, where))
    unique, seen = [], set()
    for cols, pred in options:
        if (tuple(cols), pred) not in seen:
            seen.add((tuple(cols), pred))
            unique.append((cols, pred))
    return unique


def _cost(conn: psycopg.Connection, q: Query, params: dict) -> float:
    plan = conn.execute(sql.SQL("explain (format json) ") + bind(q.text, params)).fetchone()[0]
    return float(plan[0]["Plan"]["Total Cost"])


def _index_sql(table: str, cols: list[str], where: str) -> str:
    parts = ", ".join(" ".join([sql.Identifier(c.split()[0]).as_string(None), *c.split()[1:]]) for c in cols)
    return f"create index on {table} ({parts})" + (f" where {where}" if where else "")


def advise(conn: psycopg.Connection, reports: list[Report], params: dict) -> list[Advice]:
    """One proposal per (query, large table scanned sequentially), proven with hypopg."""
    advice = []
    for r in reports:
        if not r.plan or not any(f.kind == "seq_scan_on_large_table" for f in r.findings):
            continue
        for scan, sort_keys in _seq_scans(r.plan["Plan"], []):
            # A partition is proven on itself, but the advice names its partitioned root.
            table = conn.execute(QUALIFIED, (scan["Relation Name"],)).fetchone()
            if table is None:
                continue
            columns = {row[0] for row in conn.execute(
                "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 "
                "and not attisdropped", (table[0],))}
            best = _best(conn, r.query, params, table, candidates(columns, scan, sort_keys))
            if best:
                advice.append(best)
    return advice


def _best(conn: psycopg.Connection, q: Query, params: dict, table: tuple[str, str],
          options: list[tuple[list[str], str]]) -> Advice | None:
    scanned, root = table
    schema = hypopg_schema(conn)
    create = sql.SQL("select * from {}(%s)").format(sql.Identifier(schema, "hypopg_create_index"))
    reset = sql.SQL("select {}()").format(sql.Identifier(schema, "hypopg_reset"))
    best = None
    with conn.transaction(force_rollback=True):
        set_role(conn, q.role, params)
        before = _cost(conn, q, params)
        for cols, where in options:
            conn.execute(create, (_index_sql(scanned, cols, where),))
            after = _cost(conn, q, params)
            conn.execute(reset)
            if after <= before / 2 and (best is None or after < best.cost_after):
                best = Advice(q.name, root, _index_sql(root, cols, where), before, after)
    return best


# The scanned table (largest of that name) and its partitioned root, schema-qualified.
QUALIFIED = """
select c.oid::regclass::text, format('%%I.%%I', rn.nspname, r.relname)
from pg_class as c
join pg_class as r on r.oid = coalesce(pg_partition_root(c.oid), c.oid)
join pg_namespace as rn on rn.oid = r.relnamespace
where c.relname = %s and c.relkind = 'r'
order by c.reltuples desc
limit 1
"""

UNUSED = """
select s.indexrelid::regclass::text, s.relid::regclass::text, pg_relation_size(s.indexrelid)
from pg_stat_user_indexes as s
join pg_index as i on i.indexrelid = s.indexrelid
where s.idx_scan = 0 and not i.indisunique and not i.indisprimary
  and s.schemaname = any(%s)
  and (select c.reltuples from pg_class as c where c.oid = s.relid) > 10000
  and (select seq_scan + coalesce(idx_scan, 0) from pg_stat_user_tables as t where t.relid = s.relid) > 0
order by pg_relation_size(s.indexrelid) desc
"""


def unused_indexes(conn: psycopg.Connection, schemas: list[str]) -> list[tuple[str, str, int]]:
    """Non-unique indexes on large tables, never scanned since statistics were reset although
    the table is read."""
    return conn.execute(UNUSED, (schemas,)).fetchall()
