"""Feature flags from Python: thin calls into the SQL module `flags` (the one evaluation path
lives in the database; see docs/flags.md). Used by the CLI and the OpenFeature provider."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

FIELDS = ("key", "value", "variant", "reason", "error_code", "enabled", "payload", "detail")


@dataclass(frozen=True)
class Evaluation:
    key: str
    value: Any
    variant: str | None
    reason: str
    error_code: str | None
    enabled: bool
    payload: dict | None
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def evaluate(
    conn: psycopg.Connection,
    key: str,
    context: dict | None = None,
    default: Any = None,
    environment: str | None = None,
    brand_id: str | None = None,
    user_id: str | None = None,
) -> Evaluation:
    """One flag for a brand and user, as a trusted backend (owner or service_role)."""
    row = conn.execute(
        "select key, value, variant, reason, error_code, enabled, payload, detail "
        "from flags.evaluate_as(%s, %s, %s, %s, %s, %s)",
        (key, Jsonb(context or {}), _json(default), environment, brand_id, user_id),
    ).fetchone()
    return Evaluation(*row)


def evaluate_all(
    conn: psycopg.Connection,
    context: dict | None = None,
    environment: str | None = None,
    brand_id: str | None = None,
    user_id: str | None = None,
) -> list[Evaluation]:
    rows = conn.execute(
        "select key, value, variant, reason, error_code, enabled, payload, detail "
        "from flags.evaluate_all_as(%s, %s, %s, %s)",
        (Jsonb(context or {}), environment, brand_id, user_id),
    ).fetchall()
    return [Evaluation(*r) for r in rows]


def list_flags(
    conn: psycopg.Connection, environment: str | None = None, archived: bool = False
) -> list[dict]:
    rows = conn.execute(
        "select f.key, f.kind, f.description, f.tags, coalesce(fe.enabled, false), "
        "jsonb_array_length(coalesce(fe.strategies, '[]')), f.archived_at is not null "
        "from flags.flags as f left join flags.flag_environments as fe on fe.flag_key = f.key "
        "and fe.environment = coalesce(%s, (select s.environment from flags.settings as s)) "
        "where %s or f.archived_at is null order by f.key",
        (environment, archived),
    ).fetchall()
    return [
        dict(zip(("key", "kind", "description", "tags", "enabled", "strategies", "archived"), r, strict=True))
        for r in rows
    ]


def get_flag(conn: psycopg.Connection, key: str) -> dict | None:
    row = conn.execute(
        "select to_jsonb(f) || jsonb_build_object('environments', coalesce((select jsonb_object_agg("
        "fe.environment, jsonb_build_object('enabled', fe.enabled, 'strategies', fe.strategies)) "
        "from flags.flag_environments as fe where fe.flag_key = f.key), '{}')) "
        "from flags.flags as f where f.key = %s",
        (key,),
    ).fetchone()
    return row[0] if row else None


def set_flag(
    conn: psycopg.Connection,
    key: str,
    kind: str = "boolean",
    description: str = "",
    tags: list[str] | None = None,
    on_value: Any = None,
    variants: list | None = None,
    dependencies: list | None = None,
) -> None:
    conn.execute(
        "select flags.set_flag(%s, %s, %s, %s, %s, %s, %s)",
        (
            key,
            kind,
            description,
            tags or [],
            _json(on_value),
            Jsonb(variants or []),
            Jsonb(dependencies or []),
        ),
    )


def set_environment(
    conn: psycopg.Connection, key: str, environment: str, enabled: bool | None, strategies: list | None = None
) -> None:
    conn.execute(
        "select flags.set_environment(%s, %s, %s, %s)", (key, environment, enabled, _json(strategies))
    )


def import_unleash(conn: psycopg.Connection, document: Any, environment: str | None = None) -> int:
    return conn.execute("select flags.import_unleash(%s, %s)", (Jsonb(document), environment)).fetchone()[0]


def export_unleash(conn: psycopg.Connection, environment: str | None = None) -> dict:
    return conn.execute("select flags.export_unleash(%s)", (environment,)).fetchone()[0]


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
