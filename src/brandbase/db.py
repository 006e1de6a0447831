"""Connections: one place that turns a DSN into a connection or a clear error, and
that tells a direct (or session-pooled) connection from a transaction pooler."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict

# Supabase's transaction-mode pooler (Supavisor, and PgBouncer on dedicated poolers)
# listens on 6543; its session mode and the direct connection on 5432.
TRANSACTION_POOLER_PORT = 6543


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    dsn = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", dsn)


def connect(dsn: str, autocommit: bool = True) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10,
                               application_name="brandbase")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown reason"
        raise click.ClickException(
            f"cannot connect to {redact(dsn)}: {reason}\n"
            "  hint: check host, port, user and password, or omit --dsn to use the "
            "local cluster (brandbase local start)"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise click.ClickException(f"invalid DSN {redact(dsn)}: {exc}") from None


def _ports(dsn: str) -> list[int]:
    try:
        port = conninfo_to_dict(dsn).get("port") or ""
    except psycopg.ProgrammingError:
        return []
    return [int(p) for p in str(port).split(",") if p.strip().isdigit()]


def _backend_pid(conn: psycopg.Connection) -> int:
    # conn.info.backend_pid is what the server (or a pooler) said at connect time; a
    # pooler invents it, so ask the backend that actually runs the statement.
    return conn.execute("select pg_catalog.pg_backend_pid()", prepare=False).fetchone()[0]


def _backend_pid_within(conn: psycopg.Connection, seconds: float) -> int | None:
    """The backend pid, or None when no server answered within `seconds` (a pool with no
    server to spare makes a client wait, and PgBouncer ignores a cancel request from a
    client that has no server yet). On timeout the connection is cut and unusable."""
    result: dict = {}

    def ask() -> None:
        try:
            result["pid"] = _backend_pid(conn)
        except psycopg.Error as exc:
            result["error"] = exc

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(conn.pgconn.socket)) as s:
            s.shutdown(socket.SHUT_RDWR)
        thread.join(5)
        return None
    if "error" in result:
        raise result["error"]
    return result["pid"]


def transaction_pooler(dsn: str, wait: float = 5.0) -> str | None:
    """Why `dsn` reaches PostgreSQL through a transaction (or statement) pooler, or None
    when each of its connections keeps one server session, as a direct connection or a
    session pooler does.

    PgBouncer answers `SHOW pool_mode` only on its admin console, and a pool may well
    hand one client the same server twice in a row, so a single connection proves
    nothing. The probe uses two: it leaves the first idle (a transaction pooler takes its
    server back) and opens a transaction on the second, which a pooler serves from the
    same pool, preferably with the server just returned. Sessions are then shared when
    the second connection runs on the first one's backend, or when the first one's next
    statement runs on another backend. Neither can happen without a pooler in between.
    A second connection left waiting for a server (`wait` seconds) means the first one
    kept its server while idle: a session pool with none to spare.
    """
    if TRANSACTION_POOLER_PORT in _ports(dsn):
        return (f"port {TRANSACTION_POOLER_PORT} is Supabase's transaction-mode pooler "
                "(Supavisor)")
    options = {"connect_timeout": 10, "application_name": "brandbase pooler probe"}
    first = psycopg.connect(dsn, autocommit=True, **options)
    try:
        second = psycopg.connect(dsn, autocommit=False, **options)
        try:
            before = _backend_pid(first)
            # second now holds a server until it ends its transaction
            held = _backend_pid_within(second, wait)
            if held is None:
                return None
            if held == before:  # (asking first again now would wait for second's server)
                return (f"two connections ran on the same server process (pid {before}): "
                        "sessions are shared between transactions")
            after = _backend_pid(first)
        finally:
            second.close()
    finally:
        first.close()
    if after != before:
        return (f"one connection ran its transactions on two server processes (pid {before}, "
                f"then {after})")
    return None


def pooler_hint(what: str) -> str:
    """The hint every command that needs a session gives when pointed at a pooler."""
    return (f"  hint: {what} needs a session of its own (session advisory locks, LISTEN, "
            "prepared statements), which a transaction pooler does not keep. Use the direct "
            "connection (db.<project-ref>.supabase.co:5432) or the session-mode pooler "
            "(<pooler-host>:5432, not 6543); the app may keep the transaction pooler")
