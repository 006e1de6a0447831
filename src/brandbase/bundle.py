"""`brandbase bundle --supabase DIR`: the pack as files the Supabase CLI applies as-is.

Supabase applies each `<14-digit timestamp>_<name>.sql` once, in name order. Bundling is
incremental: files already in DIR keep their names; new migrations, and repeatable code
whose content changed, get new timestamps after the newest existing one. Every file also
records itself in brandbase.migrations, so `brandbase status/verify` work afterwards.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg import sql

from .migrate import HISTORY_DDL
from .pack import Pack, PackError, SqlFile, checksum

BUNDLED_RE = re.compile(r"^(?P<ts>\d{14})_brandbase_(?P<key>[a-z0-9_]+)\.sql$")


def _record_sql(f: SqlFile) -> str:
    values = sql.SQL(", ").join(map(sql.Literal, (f.name, f.version, f.module, f.kind,
                                                  f.checksum)))
    return sql.SQL(
        "insert into brandbase.migrations (name, version, module, kind, checksum, execution_ms)\n"
        "values ({}, 0)\non conflict (name) do update\n"
        "set checksum = excluded.checksum, applied_at = excluded.applied_at;\n"
    ).format(values).as_string(None)


def _versioned_body(f: SqlFile) -> str:
    return f"-- brandbase {f.name}\n{f.text.rstrip()}\n\n{_record_sql(f)}"


def _code_body(files: list[SqlFile]) -> str:
    parts = [f"-- brandbase {f.name}\n{f.text.rstrip()}\n\n{_record_sql(f)}" for f in files]
    return "-- brandbase repeatable code (functions, views, policies, grants)\n\n" + "\n".join(parts)


def bundle(pack: Pack, out: Path, now: datetime | None = None) -> list[Path]:
    """Write what DIR lacks; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    existing = {m["key"]: (m["ts"], p) for p in sorted(out.iterdir())
                if (m := BUNDLED_RE.match(p.name))}
    wanted: list[tuple[str, str]] = [("history", HISTORY_DDL.lstrip())]
    wanted += [(Path(f.name).stem, _versioned_body(f)) for f in pack.versioned]
    code = _code_body(pack.repeatable)
    # Like `migrate`, re-apply the code after any new migration, which may have dropped
    # what it depends on: the key covers the code and the newest migration.
    last = pack.versioned[-1].name if pack.versioned else ""
    code_key = "code_" + checksum(last + code)[:12]
    if code_key not in existing:
        wanted.append((code_key, code))

    latest = max((ts for ts, _ in existing.values()), default="0" * 14)
    clock = max(now or datetime.now(UTC),
                datetime.strptime(latest, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
                if latest != "0" * 14 else datetime.min.replace(tzinfo=UTC))
    written = []
    for key, body in wanted:
        if key in existing:
            if key != "history" and existing[key][1].read_text() != body:
                raise PackError(
                    f"{existing[key][1].name} was bundled before with other content; released "
                    "migrations are immutable - add a new migration instead"
                )
            continue
        clock += timedelta(seconds=1)
        path = out / f"{clock:%Y%m%d%H%M%S}_brandbase_{key}.sql"
        path.write_text(body)
        written.append(path)
    return written
