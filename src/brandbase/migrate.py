"""The migration engine: versioned files once, in order; repeatable files when changed.

One session advisory lock covers the whole run, so concurrent runs serialise and the
second finds nothing to do. Each file runs in its own transaction together with its
history row, statement by statement, so a failure names the exact file and line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .pack import Pack, SqlFile

LOCK_KEY = 0x6272616E64  # "brand": one advisory lock per database for every run

HISTORY_DDL = """
create schema if not exists brandbase;
comment on schema brandbase is 'brandbase bookkeeping: migration history and pack settings.';
create table if not exists brandbase.migrations (
    name text primary key,
    version integer unique,
    module text not null,
    kind text not null check (kind in ('versioned', 'repeatable')),
    checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
    applied_by text not null default session_user,
    applied_at timestamptz not null default now(),
    execution_ms numeric(12, 3) not null,
    check ((kind = 'versioned') = (version is not null))
);
comment on table brandbase.migrations is
    'One row per applied pack file: versioned files once, repeatable files at their last apply.';
comment on column brandbase.migrations.name is 'Path of the file relative to the pack root.';
comment on column brandbase.migrations.checksum is 'sha256 of the file as applied.';
revoke all on schema brandbase from public;
revoke all on table brandbase.migrations from public;
"""


class MigrationError(Exception):
    """A file failed; nothing of it was applied."""

    def __init__(self, file: SqlFile, line: int, sqlstate: str | None, message: str, hint: str):
        self.file, self.line, self.sqlstate = file, line, sqlstate
        text = f"{file.name}:{line}: [{sqlstate or '?'}] {message} (rolled back)"
        super().__init__(text + (f"\n  hint: {hint}" if hint else ""))


class DriftError(Exception):
    """Applied versioned files differ from the pack: refuse to build on unknown ground."""

    def __init__(self, drift: list[Drift]):
        self.drift = drift
        lines = "\n".join(f"  {d.name}: {d.problem}" for d in drift)
        super().__init__(
            "applied migrations differ from this pack\n" + lines
            + "\n  hint: never edit a released migration; add a new one (brandbase new)"
        )


@dataclass(frozen=True)
class Applied:
    name: str
    checksum: str
    kind: str


@dataclass(frozen=True)
class Plan:
    versioned: list[SqlFile]
    repeatable: list[SqlFile]

    @property
    def files(self) -> list[SqlFile]:
        return self.versioned + self.repeatable


@dataclass(frozen=True)
class Drift:
    name: str
    problem: str  # 'edited' | 'unknown'


def applied(conn: psycopg.Connection) -> dict[str, Applied]:
    exists = conn.execute("select to_regclass('brandbase.migrations') is not null").fetchone()[0]
    if not exists:
        return {}
    rows = conn.execute("select name, checksum, kind from brandbase.migrations").fetchall()
    return {r[0]: Applied(*r) for r in rows}


def plan(pack: Pack, done: dict[str, Applied]) -> Plan:
    pending = [f for f in pack.versioned if f.name not in done]
    changed = [f for f in pack.repeatable
               if f.name not in done or done[f.name].checksum != f.checksum]
    # A new migration may have dropped what repeatable code depends on: re-apply all then.
    return Plan(pending, pack.repeatable if pending else changed)


def verify(pack: Pack, done: dict[str, Applied]) -> list[Drift]:
    on_disk = pack.by_name()
    drift = []
    for name, row in sorted(done.items()):
        if row.kind != "versioned":
            continue
        if name not in on_disk:
            drift.append(Drift(name, "unknown: applied to the database but not in this pack"))
        elif on_disk[name].checksum != row.checksum:
            drift.append(Drift(name, "edited: differs from the applied file (checksum mismatch)"))
    return drift


@contextmanager
def run_lock(conn: psycopg.Connection) -> Iterator[None]:
    conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))


def migrate(
    conn: psycopg.Connection,
    pack: Pack,
    on_file: Callable[[SqlFile, float], None] = lambda f, ms: None,
) -> Plan:
    """Apply everything pending; returns what was applied. `conn` must be autocommit."""
    assert conn.autocommit, "migrate needs an autocommit connection"
    with run_lock(conn):
        drift = verify(pack, applied(conn))
        if drift:
            raise DriftError(drift)
        with conn.transaction():
            conn.execute(HISTORY_DDL)
        todo = plan(pack, applied(conn))
        for f in todo.files:
            f.statements  # noqa: B018 - parse everything first: a typo fails before any file runs
        for f in todo.files:
            on_file(f, apply_file(conn, f))
        return todo


def apply_file(conn: psycopg.Connection, f: SqlFile) -> float:
    """Run one file and record it; returns execution time in ms."""
    started = time.perf_counter()
    if f.transactional:
        with conn.transaction():
            _execute(conn, f)
            _record(conn, f, started)
    else:
        # e.g. `create index concurrently`: each statement commits on its own, so the file
        # must be safe to re-run (if not exists) should a later statement fail.
        _execute(conn, f)
        with conn.transaction():
            _record(conn, f, started)
    return (time.perf_counter() - started) * 1000


def _execute(conn: psycopg.Connection, f: SqlFile) -> None:
    for stmt in f.statements:
        try:
            conn.execute(stmt.sql, prepare=False)
        except psycopg.Error as exc:
            diag = exc.diag
            offset = int(diag.statement_position or 1) - 1
            line = stmt.line + stmt.sql[:offset].count("\n")
            message = diag.message_primary or str(exc).strip()
            if diag.context and "PL/pgSQL" in diag.context:
                message += f" ({diag.context.splitlines()[0]})"
            raise MigrationError(f, line, exc.sqlstate, message, diag.message_hint or "") from None


def _record(conn: psycopg.Connection, f: SqlFile, started: float) -> None:
    conn.execute(
        """
        insert into brandbase.migrations (name, version, module, kind, checksum, execution_ms)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (name) do update
           set checksum = excluded.checksum, applied_by = excluded.applied_by,
               applied_at = excluded.applied_at, execution_ms = excluded.execution_ms
        """,
        (f.name, f.version, f.module, f.kind, f.checksum,
         round((time.perf_counter() - started) * 1000, 3)),
    )


def dry_run_sql(todo: Plan) -> str:
    parts = []
    for f in todo.files:
        mode = "" if f.transactional else " (no transaction)"
        parts.append(f"-- ===== {f.name} [{f.kind}]{mode} =====\n{f.text.rstrip()}\n")
    return "\n".join(parts)


def history(conn: psycopg.Connection) -> list[tuple]:
    if not applied(conn):
        return []
    return conn.execute(
        sql.SQL(
            "select coalesce(lpad(version::text, 4, '0'), '-'), module, name, kind, "
            "applied_by, applied_at, execution_ms from brandbase.migrations "
            "order by kind desc, version, name"
        )
    ).fetchall()
