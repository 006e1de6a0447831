"""The migration engine: versioned files once, in order; repeatable files when changed.

Before anything is applied, a preflight checks what the install needs from the server
and from the installing role (PostgreSQL 15+, CREATE on the database, the API roles or
CREATEROLE, schema `extensions` with the extensions the pack calls there, USAGE on it)
and names every missing item with the superuser commands that fix it.

One session advisory lock covers the whole run, so concurrent runs serialise and the
second finds nothing to do. Each file runs in its own transaction together with its
history row, statement by statement, so a failure names the exact file and line. Every
file's transaction first checks that it runs on the session holding the lock: through a
transaction pooler it would not, and the run stops before that file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .db import pooler_hint
from .pack import Pack, SqlFile

LOCK_KEY = 0x6272616E64  # "brand": one advisory lock per database for every run
MIN_SERVER_VERSION = 150000
API_ROLES = ("anon", "authenticated", "service_role")  # 0001 makes the installer a member
ROLES_FILE = "migrations/0001_brand__roles_and_auth_shim.sql"
EXTENSIONS_SCHEMA = "extensions"
# What in the pack's text makes an extension a requirement: the pack calls extension
# objects schema-qualified, as on Supabase, so a use is a reference into `extensions`.
EXTENSION_USES = {
    "pgcrypto": re.compile(r"\bextensions\.(gen_random_bytes|gen_random_uuid|digest|hmac|crypt|"
                           r"gen_salt|pgp_\w+|armor|dearmor|encrypt|decrypt)\s*\("),
    "pg_trgm": re.compile(r"\b(extensions\.)?(gin|gist)_trgm_ops\b|\bextensions\.(similarity|"
                          r"word_similarity|strict_word_similarity|show_trgm)\s*\("),
}

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


class PreflightError(Exception):
    """The server or the installing role lacks what the install needs; nothing was run."""

    def __init__(self, missing: list[Missing], role: str, database: str):
        self.missing = missing
        fixes = list(dict.fromkeys(cmd for m in missing for cmd in m.fix))
        lines = [f"database {database!r} is not ready for brandbase; nothing was installed.",
                 "  missing:"]
        lines += [f"    - {m.what}" for m in missing]
        if fixes:
            lines.append(f"  fix: as a superuser, connected to database {database!r} "
                         "(on Supabase: the SQL editor, or Database > Extensions for the "
                         "extensions), run:")
            lines += [f"    {cmd}" for cmd in fixes]
        others = [m.advice for m in missing if m.advice]
        lines += [f"  {advice}" for advice in others]
        lines.append(f"  then run brandbase migrate again (as {role}).")
        super().__init__("\n".join(lines))


class SessionMoved(Exception):
    """The connection's statements reached a server session other than the lock's."""

    def __init__(self, file: SqlFile, locked: int, now: int):
        super().__init__(
            f"{file.name}: not applied: the run's advisory lock is held by server process "
            f"{locked}, but this transaction runs in process {now}; the connection goes "
            "through a transaction pooler, where a session lock protects nothing\n"
            + pooler_hint("brandbase migrate"))


@dataclass(frozen=True)
class Missing:
    what: str
    fix: tuple[str, ...] = ()
    advice: str = ""


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


def required_extensions(pack: Pack) -> dict[str, str]:
    """Extensions the pack's files call into schema `extensions`, each with its first use
    (file:line)."""
    needed: dict[str, str] = {}
    for f in pack.versioned + pack.repeatable:
        for ext, pattern in EXTENSION_USES.items():
            if ext in needed:
                continue
            for m in pattern.finditer(f.text):
                line_start = f.text.rfind("\n", 0, m.start()) + 1
                if "--" in f.text[line_start:m.start()]:
                    continue  # a mention in a comment is no use
                needed[ext] = f"{f.name}:{f.text.count(chr(10), 0, m.start()) + 1}"
                break
    return needed


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def preflight(conn: psycopg.Connection, pack: Pack) -> list[Missing]:
    """Everything the install needs that this server or role lacks (empty: ready).
    Read-only: catalogue queries only."""
    row = conn.execute("""
        select current_setting('server_version_num')::int, current_setting('server_version'),
               current_user, current_database(), r.rolsuper, r.rolcreaterole,
               pg_catalog.has_database_privilege(current_database(), 'CREATE'),
               (select n.oid is not null from pg_catalog.pg_namespace as n
                where n.nspname = %(schema)s)
        from pg_catalog.pg_roles as r where r.rolname = current_user
    """, {"schema": EXTENSIONS_SCHEMA}, prepare=False).fetchone()
    version_num, version, role, database, superuser, createrole, can_create, has_schema = row
    has_schema = bool(has_schema)
    missing: list[Missing] = []
    if version_num < MIN_SERVER_VERSION:
        wanted = MIN_SERVER_VERSION // 10000
        missing.append(Missing(f"PostgreSQL {wanted} or newer (this server runs {version})",
                               advice=f"upgrade the server to PostgreSQL {wanted} or newer "
                                      "(Supabase runs 15 and 17)."))
    if not can_create:
        missing.append(Missing(
            f"CREATE on database {database} for role {role} (it creates the pack's schemas)",
            (f"alter database {_q(database)} owner to {_q(role)};  "
             f"-- or: grant create on database {_q(database)} to {_q(role)};",)))
    if ROLES_FILE in {f.name for f in pack.versioned} and ROLES_FILE not in applied(conn):
        missing += _role_preflight(conn, role, superuser, createrole, version_num)
    needed = required_extensions(pack)
    if needed:
        uses = ", ".join(f"{ext} ({where})" for ext, where in needed.items())
        if not has_schema:
            missing.append(Missing(f"schema {EXTENSIONS_SCHEMA} (the pack calls extension "
                                   f"functions there: {uses})",
                                   (f"create schema if not exists {EXTENSIONS_SCHEMA};",)))
        elif not conn.execute("select pg_catalog.has_schema_privilege(%s, 'USAGE')",
                              (EXTENSIONS_SCHEMA,), prepare=False).fetchone()[0]:
            missing.append(Missing(f"USAGE on schema {EXTENSIONS_SCHEMA} for role {role}",
                                   (f"grant usage on schema {EXTENSIONS_SCHEMA} to public;",)))
        installed = dict(conn.execute(
            "select e.extname::text, n.nspname::text from pg_catalog.pg_extension as e "
            "join pg_catalog.pg_namespace as n on n.oid = e.extnamespace", prepare=False).fetchall())
        available = {r[0] for r in conn.execute(
            "select name::text from pg_catalog.pg_available_extensions", prepare=False)}
        for ext, where in needed.items():
            if installed.get(ext) == EXTENSIONS_SCHEMA:
                continue
            if ext in installed:
                missing.append(Missing(
                    f"extension {ext} in schema {EXTENSIONS_SCHEMA} (it is in schema "
                    f"{installed[ext]}; used by {where})",
                    (f"create schema if not exists {EXTENSIONS_SCHEMA};",
                     f"alter extension {ext} set schema {EXTENSIONS_SCHEMA};",
                     f"grant usage on schema {EXTENSIONS_SCHEMA} to public;")))
            else:
                missing.append(Missing(
                    f"extension {ext} in schema {EXTENSIONS_SCHEMA} (used by {where})",
                    (f"create schema if not exists {EXTENSIONS_SCHEMA};",
                     f"create extension if not exists {ext} with schema {EXTENSIONS_SCHEMA};",
                     f"grant usage on schema {EXTENSIONS_SCHEMA} to public;"),
                    "" if ext in available else
                    f"{ext} is not available on this server: install its package first "
                    "(Debian: postgresql-contrib, part of postgresql-15)."))
    return missing


def _role_preflight(conn: psycopg.Connection, role: str, superuser: bool, createrole: bool,
                    version_num: int) -> list[Missing]:
    """0001 creates the API roles that do not exist and grants the three API roles to the
    installer. Creating needs CREATEROLE; granting needs ADMIN OPTION on each role, or on
    PostgreSQL 15 CREATEROLE (16 and newer: CREATEROLE gives ADMIN only on roles it made)."""
    if superuser:
        return []
    names = list(API_ROLES) + ["authenticator"]
    rows = conn.execute(
        "select n, r.oid is not null, r.oid is not null and "
        "pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') "
        "from unnest(%s::text[]) as n left join pg_catalog.pg_roles as r on r.rolname = n",
        (names,), prepare=False).fetchall()
    exists = {n: e for n, e, _ in rows}
    admin = {n: a for n, _, a in rows}
    missing = []
    absent = [n for n in names if not exists[n]]
    if absent and not createrole:
        missing.append(Missing(
            f"CREATEROLE for role {role} (roles {', '.join(absent)} do not exist yet and the "
            "install creates them)",
            (f"alter role {_q(role)} createrole;",)))
    # A role 0001 itself creates (with CREATEROLE) is one the installer administers.
    no_admin = [n for n in API_ROLES if exists[n] and not admin[n]
                and not (createrole and version_num < 160000)]
    if no_admin:
        need = "CREATEROLE or ADMIN OPTION" if version_num < 160000 else "ADMIN OPTION"
        fix = (f"grant {', '.join(no_admin)} to {_q(role)} with admin option;",)
        if version_num < 160000:
            fix = (f"alter role {_q(role)} createrole;  -- or: {fix[0]}",)
        missing.append(Missing(
            f"{need} on roles {', '.join(no_admin)} for role {role} (the install makes "
            f"{role} a member of the API roles, as Supabase's postgres is)", fix))
    return missing


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
def run_lock(conn: psycopg.Connection) -> Iterator[int]:
    """Hold the run's session advisory lock; yields the holding server process's pid."""
    pid = conn.execute("select pg_catalog.pg_backend_pid() from pg_catalog.pg_advisory_lock(%s)",
                       (LOCK_KEY,), prepare=False).fetchone()[0]
    try:
        yield pid
    finally:
        conn.execute("select pg_catalog.pg_advisory_unlock(%s)", (LOCK_KEY,), prepare=False)


def migrate(
    conn: psycopg.Connection,
    pack: Pack,
    on_file: Callable[[SqlFile, float], None] = lambda f, ms: None,
) -> Plan:
    """Apply everything pending; returns what was applied. `conn` must be autocommit.
    Raises PreflightError, before anything runs, when the database is not ready."""
    assert conn.autocommit, "migrate needs an autocommit connection"
    missing = preflight(conn, pack)
    if missing:
        raise PreflightError(missing, conn.info.user, conn.info.dbname)
    with run_lock(conn) as holder:
        drift = verify(pack, applied(conn))
        if drift:
            raise DriftError(drift)
        with conn.transaction():
            conn.execute(HISTORY_DDL)
        todo = plan(pack, applied(conn))
        for f in todo.files:
            f.statements  # noqa: B018 - parse everything first: a typo fails before any file runs
        for f in todo.files:
            on_file(f, apply_file(conn, f, holder))
        return todo


def _check_session(conn: psycopg.Connection, f: SqlFile, holder: int | None) -> None:
    if holder is None:
        return
    now = conn.execute("select pg_catalog.pg_backend_pid()", prepare=False).fetchone()[0]
    if now != holder:
        raise SessionMoved(f, holder, now)


def apply_file(conn: psycopg.Connection, f: SqlFile, holder: int | None = None) -> float:
    """Run one file and record it; returns execution time in ms. With `holder` (the pid
    holding the run's lock), refuse to run the file anywhere else."""
    started = time.perf_counter()
    if f.transactional:
        with conn.transaction():
            _check_session(conn, f, holder)
            _execute(conn, f)
            _record(conn, f, started)
    else:
        # e.g. `create index concurrently`: each statement commits on its own, so the file
        # must be safe to re-run (if not exists) should a later statement fail.
        _check_session(conn, f, holder)
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
        prepare=False,
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
