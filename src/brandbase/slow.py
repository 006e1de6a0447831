"""`brandbase slow`: the heaviest statements from pg_stat_statements, and what changed
between two snapshots (save one before a deploy or a load test, diff after)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

ORDERS = {"total": "total_ms", "mean": "mean_ms", "calls": "calls", "rows": "rows"}


class NoStatements(Exception):
    """pg_stat_statements is not available in this database."""


@dataclass(frozen=True)
class Statement:
    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


def _schema(conn: psycopg.Connection) -> str:
    row = conn.execute("select extnamespace::regnamespace::text from pg_extension "
                       "where extname = 'pg_stat_statements'").fetchone()
    if row is None:
        raise NoStatements(
            "pg_stat_statements is not installed in this database\n"
            "  hint: add it to shared_preload_libraries (brandbase local does) and run "
            "create extension pg_stat_statements as a superuser"
        )
    return row[0]


def snapshot(conn: psycopg.Connection) -> list[Statement]:
    """Every statement of this database, as pg_stat_statements sees it now."""
    view = sql.Identifier(_schema(conn), "pg_stat_statements")
    try:
        rows = conn.execute(sql.SQL(
            "select queryid, query, calls, total_exec_time, mean_exec_time, rows from {} "
            "where dbid = (select oid from pg_database where datname = current_database()) "
            "and queryid is not null").format(view)).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # not preloaded
        raise NoStatements(f"{exc.diag.message_primary}\n  hint: preload pg_stat_statements") from None
    return [Statement(int(q), t, int(c), float(tt), float(m), int(r)) for q, t, c, tt, m, r in rows]


def top(statements: list[Statement], by: str, limit: int) -> list[Statement]:
    return sorted(statements, key=lambda s: getattr(s, ORDERS[by]), reverse=True)[:limit]


def save(statements: list[Statement], path: Path) -> None:
    path.write_text(json.dumps([asdict(s) for s in statements]))


def load(path: Path) -> list[Statement]:
    return [Statement(**s) for s in json.loads(path.read_text())]


def diff(before: list[Statement], after: list[Statement]) -> list[Statement]:
    """What ran between the snapshots: per statement, the calls, time and rows added."""
    earlier = {s.queryid: s for s in before}
    changes = []
    for s in after:
        old = earlier.get(s.queryid)
        calls = s.calls - (old.calls if old else 0)
        if calls <= 0:
            continue
        total = s.total_ms - (old.total_ms if old else 0.0)
        changes.append(Statement(s.queryid, s.query, calls, total, total / calls,
                                 s.rows - (old.rows if old else 0)))
    return changes
