"""Connections: one place that turns a DSN into a connection or a clear error."""

from __future__ import annotations

import re

import click
import psycopg


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
