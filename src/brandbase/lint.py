"""Schema lints: one SQL file per rule under lints/, each a query yielding findings
(name, level, object, description, remediation), in the shape of supabase/splinter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

LINT_DIR = Path(__file__).parent / "lints"
LEVELS = ("INFO", "WARN", "ERROR")


@dataclass(frozen=True)
class Finding:
    name: str
    level: str
    object: str
    description: str
    remediation: str


def pack_schemas(conn: psycopg.Connection) -> list[str]:
    """The schemas the installed pack owns: its modules plus api and brandbase."""
    installed = conn.execute("select to_regclass('brandbase.migrations')").fetchone()[0]
    rows = conn.execute("select distinct module from brandbase.migrations").fetchall() \
        if installed else []
    schemas = {r[0] for r in rows} | {"api", "brandbase"}
    return sorted(s for s in schemas
                  if conn.execute("select to_regnamespace(%s) is not null", (s,)).fetchone()[0])


def run(conn: psycopg.Connection, schemas: list[str] | None = None,
        min_level: str = "INFO") -> list[Finding]:
    schemas = schemas or pack_schemas(conn)
    floor = LEVELS.index(min_level.upper())
    findings = []
    for path in sorted(LINT_DIR.glob("*.sql")):
        # A raw cursor keeps the lint files plain SQL: $1 is the schema list.
        rows = psycopg.RawCursor(conn).execute(path.read_text(), (schemas,)).fetchall()
        for row in rows:
            finding = Finding(*row)
            if LEVELS.index(finding.level) >= floor:
                findings.append(finding)
    return findings
