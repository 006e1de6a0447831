"""`brandbase explain`: EXPLAIN (ANALYZE, BUFFERS) of the query catalogue (or a file),
each query as the role the app uses, in a read-only transaction that is rolled back,
with the findings a DBA looks for first.

Catalogue files (`catalog/<module>.sql`) hold entries:

    -- query: audit.brand_activity
    -- as: authenticated            (or: owner)
    select ... where brand_id = :brand_id ...;

:brand_id, :user_id and :record_key are bound to the largest brand, its owner and one of
its versioned records, as literals. A database without them (nothing seeded yet) cannot
bind such entries, nor act as a member: those are skipped, each saying what it needs.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from .pack import SqlFile, Statement

LARGE_TABLE_ROWS = 10_000
ESTIMATE_FACTOR = 10
PER_ROW_FUNCTIONS = re.compile(r"(has_permission|brands_with|auth\.uid|current_setting)\(")
ADVISORY = {"row_estimate_off"}  # worth a look, but no reason to fail a CI run
HEADER = re.compile(r"^--\s*(query|as):\s*(\S+)\s*$", re.M)
PARAMETER = re.compile(r"(?<!:):([a-z_]+)")
NEEDS_SAMPLE = ("no sample data to bind: this database has no brand with an owner "
                "(and a versioned record for :record_key)")
NEEDS_HINT = ("run `brandbase seed` first (a representative data set), or create a sample "
              "brand and user: insert into auth.users (email) values ('you@example.com'), "
              "then, as that user, select api.create_brand('acme', 'Acme')")


@dataclass
class Query:
    name: str
    role: str
    text: str
    source: str


@dataclass
class Finding:
    kind: str
    node: str
    detail: str


@dataclass
class Report:
    query: Query
    ms: float | None = None
    shared_hit: int = 0
    shared_read: int = 0
    plan: dict | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why the entry could not run here (missing sample data)


def parse_catalog(path: Path) -> list[Query]:
    """Entries of one catalogue file; statements without a header are named after the file."""
    text = path.read_text()
    queries = []
    for i, stmt in enumerate(_statements(path, text), start=1):
        headers = dict(HEADER.findall(_comments_before(text, stmt)))
        queries.append(Query(headers.get("query", f"{path.stem}.{i}"), headers.get("as", "owner"),
                             stmt.sql, f"{path.name}:{stmt.line}"))
    return queries


def _statements(path: Path, text: str) -> list[Statement]:
    # :name parameters are not SQL: the parser reads a same-length stand-in ($111…), so
    # offsets into the masked text are offsets into the real one.
    masked = re.sub(r"(?<!:):([a-z_]+)", lambda m: "$" + "1" * len(m[1]), text)
    stmts = SqlFile(path.name, "repeatable", "catalog", masked).statements
    return [Statement(text[s.start:s.start + len(s.sql)], s.line, s.start) for s in stmts]


def _comments_before(text: str, stmt: Statement) -> str:
    lines = text.splitlines()[: stmt.line - 1]
    block = []
    for line in reversed(lines):
        if not line.startswith("--"):
            if block:
                break
            continue
        block.append(line)
    return "\n".join(reversed(block))


def load_catalog(root: Path) -> list[Query]:
    return [q for f in sorted((root / "catalog").glob("*.sql")) for q in parse_catalog(f)]


def from_stats(conn: psycopg.Connection, limit: int) -> tuple[list[Query], int]:
    """The heaviest statements pg_stat_statements saw, as catalogue entries run as the
    owner. PostgreSQL 15 cannot plan a normalised statement ($1 …) without values, so
    those are counted and skipped; returns (queries, skipped)."""
    from .slow import snapshot, top  # a report without pg_stat_statements raises NoStatements

    queries, skipped = [], 0
    for s in top(snapshot(conn), "total", limit * 4):
        text = s.query.strip().rstrip(";")
        if not re.match(r"(?is)^\s*(select|with)\b", text) or "explain" in text.lower()[:20]:
            continue
        if re.search(r"\$\d", text):
            skipped += 1
            continue
        queries.append(Query(f"stats.{s.queryid}", "owner", text, "pg_stat_statements"))
        if len(queries) == limit:
            break
    return queries, skipped


def parameters(conn: psycopg.Connection) -> dict[str, object]:
    """The largest brand (by members), its owner, and one of its versioned records."""
    row = conn.execute("""
        select m.brand_id, (select o.user_id from brand.members as o
                            where o.brand_id = m.brand_id and o.tier = 'owner' limit 1)
        from brand.members as m group by m.brand_id order by count(*) desc, m.brand_id limit 1
    """).fetchone() or (None, None)
    key = None
    if row[0] and conn.execute("select to_regclass('versions.content_versions') is not null").fetchone()[0]:
        found = conn.execute("select record_key from versions.content_versions where brand_id = %s "
                             "limit 1", (row[0],)).fetchone()
        key = json.dumps(found[0]) if found else None
    return {"brand_id": row[0], "user_id": row[1], "record_key": key}


def bind(text: str, params: dict[str, object]) -> sql.Composable:
    """Replace :name with literals, never by string concatenation of values."""
    parts = re.split(r"(?<!:):([a-z_]+)", text)
    pieces: list[sql.Composable] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            pieces.append(sql.SQL(part.replace("{", "{{").replace("}", "}}")))
        else:
            if part not in params:
                raise KeyError(f"unknown parameter :{part}")
            pieces.append(sql.Literal(params[part]))
    return sql.Composed(pieces)


def table_sizes(conn: psycopg.Connection) -> dict[str, float]:
    """Rows per table name; plans name relations without their schema, so the largest wins."""
    with conn.transaction():
        return dict(conn.execute("select c.relname::text, max(c.reltuples) from pg_class as c "
                                 "where c.relkind in ('r', 'p') group by c.relname").fetchall())


def unbound(q: Query, params: dict[str, object]) -> list[str]:
    """The parameters `q` needs that have no value here (acting as authenticated needs a
    user)."""
    names = set(PARAMETER.findall(q.text)) | ({"user_id"} if q.role == "authenticated" else set())
    return sorted(n for n in names if n in params and params[n] is None)


def run(conn: psycopg.Connection, queries: list[Query], params: dict[str, object]) -> list[Report]:
    sizes = table_sizes(conn)
    reports = []
    for q in queries:
        missing = unbound(q, params)
        if missing:
            reports.append(Report(q, ms=0.0, skipped=f"needs {', '.join(':' + n for n in missing)}"))
        else:
            reports.append(explain_one(conn, q, params, sizes))
    return reports


def set_role(conn: psycopg.Connection, role: str, params: dict[str, object]) -> None:
    """Inside a transaction: act as the catalogue entry's role, as PostgREST would."""
    if role == "authenticated":
        claims = json.dumps({"sub": str(params["user_id"]), "role": "authenticated"})
        conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        conn.execute("set local role authenticated")


def explain_one(conn: psycopg.Connection, q: Query, params: dict[str, object],
                sizes: dict[str, float]) -> Report:
    report = Report(q)
    started = time.perf_counter()
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("set transaction read only")  # a DML entry fails instead of writing
            set_role(conn, q.role, params)
            statement = sql.SQL("explain (analyze, buffers, format json) ") + bind(q.text, params)
            plan = conn.execute(statement).fetchone()[0][0]
    except (psycopg.Error, KeyError) as exc:
        report.error = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
        report.ms = (time.perf_counter() - started) * 1000
        return report
    report.plan = plan
    report.ms = plan.get("Execution Time", 0.0) + plan.get("Planning Time", 0.0)
    top = plan["Plan"]
    report.shared_hit = top.get("Shared Hit Blocks", 0)
    report.shared_read = top.get("Shared Read Blocks", 0)
    report.findings = list(findings(top, sizes))
    return report


def _relation(node: dict) -> str:
    return node.get("Relation Name", "")


def _estimate_off(planned: float, actual: float) -> bool:
    if max(planned, actual) < 100:
        return False
    return max(planned, 1) / max(actual, 1) > ESTIMATE_FACTOR or \
        max(actual, 1) / max(planned, 1) > ESTIMATE_FACTOR


def findings(node: dict, sizes: dict[str, float], parent: str = "", limited: bool = False) -> list[Finding]:
    """Walk the plan; `limited` marks nodes under a Limit, which stop early by design."""
    out: list[Finding] = []
    kind = node["Node Type"]
    label = f"{kind} on {_relation(node)}" if node.get("Relation Name") else kind
    if kind == "Seq Scan" and sizes.get(_relation(node), 0) > LARGE_TABLE_ROWS:
        out.append(Finding("seq_scan_on_large_table", label,
                           f"{int(sizes[_relation(node)]):,} rows; filter: {node.get('Filter', '-')}"))
    planned, actual = node.get("Plan Rows", 0), node.get("Actual Rows", 0)
    if not limited and _estimate_off(planned, actual):
        out.append(Finding("row_estimate_off", label, f"planned {planned:,} rows, got {actual:,}"))
    if node.get("Sort Space Type") == "Disk":
        out.append(Finding("sort_spilled_to_disk", label, f"{node.get('Sort Space Used')} kB on disk"))
    for key in ("Filter", "Index Cond", "Recheck Cond"):
        expr = node.get(key, "")
        if PER_ROW_FUNCTIONS.search(expr) and "SubPlan" not in expr and "InitPlan" not in expr \
                and node.get("Actual Loops", 1) * max(actual, 1) > 1:
            out.append(Finding("function_per_row", label, f"{key}: {expr}"))
    if node.get("Parent Relationship") == "SubPlan" and node.get("Actual Loops", 1) > 1 \
            and PER_ROW_FUNCTIONS.search(json.dumps(node)):
        out.append(Finding("policy_subplan_per_row", f"{parent} -> {label}",
                           f"evaluated {node['Actual Loops']:,} times"))
    for child in node.get("Plans", []):
        out.extend(findings(child, sizes, label, limited or kind == "Limit"))
    return out


# -- output ----------------------------------------------------------------------------------
def as_json(reports: list[Report]) -> str:
    return json.dumps([{**asdict(r), "query": asdict(r.query)} for r in reports], indent=2, default=str)


def as_text(reports: list[Report], markdown: bool = False) -> str:
    lines = []
    if markdown:
        lines += ["| query | as | time | buffers hit/read | findings |", "|---|---|---|---|---|"]
    for r in reports:
        status = f"SKIPPED {r.skipped}" if r.skipped else f"ERROR {r.error}" if r.error else (
            "; ".join(f"{f.kind}: {f.node} ({f.detail})" for f in r.findings) or "ok")
        if markdown:
            lines.append(f"| `{r.query.name}` | {r.query.role} | {r.ms:.2f} ms | "
                         f"{r.shared_hit}/{r.shared_read} | {status.replace('|', '/')} |")
        else:
            lines.append(f"{r.query.name:<36} {r.query.role:<14} {r.ms:>9.2f} ms "
                         f"{r.shared_hit:>7}/{r.shared_read:<6} {status}")
    return "\n".join(lines) + "\n"


def as_html(reports: list[Report]) -> str:
    def tree(node: dict) -> str:
        label = html.escape(f"{node['Node Type']} {_relation(node)}".strip())
        stats = html.escape(f"rows {node.get('Actual Rows', '?')} (planned {node.get('Plan Rows')}), "
                            f"{node.get('Actual Total Time', '?')} ms, loops {node.get('Actual Loops', '?')}")
        extra = "".join(f"<div class=k>{html.escape(k)}: {html.escape(str(node[k]))}</div>"
                        for k in ("Filter", "Index Cond", "Index Name", "Sort Key") if k in node)
        children = "".join(tree(c) for c in node.get("Plans", []))
        return f"<details open><summary><b>{label}</b> <i>{stats}</i></summary>{extra}{children}</details>"

    sections = []
    for r in reports:
        head = html.escape(f"{r.query.name} — as {r.query.role} — {r.ms:.2f} ms")
        body = f"<p class=err>{html.escape(r.error)}</p>" if r.error else ""
        if r.skipped:
            body += f"<p class=err>skipped: {html.escape(r.skipped)}</p>"
        if r.findings:
            body += "<ul>" + "".join(f"<li><b>{html.escape(f.kind)}</b> {html.escape(f.node)}: "
                                     f"{html.escape(f.detail)}</li>" for f in r.findings) + "</ul>"
        if r.plan:
            body += tree(r.plan["Plan"])
        body += f"<pre>{html.escape(r.query.text)}</pre>"
        cls = "bad" if r.findings or r.error or r.skipped else "good"
        sections.append(f"<section class={cls}><h2>{head}</h2>{body}</section>")
    style = ("body{font:14px system-ui;margin:2em;max-width:70em}section{border-left:4px solid #2a2;"
             "padding:.2em 1em;margin:1em 0}section.bad{border-color:#c22}details{margin-left:1.2em}"
             "i{color:#666}.k{margin-left:1.2em;color:#444;font-family:monospace}pre{background:#f6f6f6;"
             "padding:.5em}.err{color:#c22}")
    return (f"<!doctype html><meta charset=utf-8><title>brandbase explain</title><style>{style}</style>"
            f"<h1>brandbase explain: {len(reports)} queries</h1>{''.join(sections)}")
