"""The readable summary `brandbase up` prints: migrations, modules, health, lint."""

from __future__ import annotations

from dataclasses import dataclass

import click
import psycopg

from . import health as health_mod
from . import lint as lint_mod
from . import migrate as engine
from .db import redact
from .pack import Pack

# Extensions the pack can use without needing them, and what each one turns on. The
# required ones (pgcrypto) are checked by the migrate preflight before anything installs.
OPTIONAL_EXTENSIONS = {
    "pg_cron": "schedules run inside the database (without it: brandbase worker runs them)",
    "pg_stat_statements": "brandbase slow and brandbase explain --from-stats",
    "hypopg": "brandbase explain --advise proves proposed indexes (hypothetical indexes)",
    "pgtap": "the pack's pgTAP tests (pgtap/); nothing at run time",
    "pg_trgm": "nothing in the pack yet (reserved for the typo-tolerant search module)",
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    info: bool = False  # information only: never a failure


@dataclass
class Report:
    applied_now: engine.Plan
    seconds: float
    modules: list[tuple[str, int, int]]
    checks: list[Check]
    health: dict
    findings: list[lint_mod.Finding]

    @property
    def failed(self) -> bool:
        return (not all(c.ok for c in self.checks if not c.info)
                or self.health["status"] == "down"
                or any(f.level == "ERROR" for f in self.findings))


def _checks(conn: psycopg.Connection, pack: Pack) -> list[Check]:
    version = conn.execute("show server_version").fetchone()[0]
    present = {r[0] for r in conn.execute("select extname from pg_extension")}
    required = sorted(engine.required_extensions(pack))
    lacking = [e for e in required if e not in present]
    done = engine.applied(conn)
    drift = engine.verify(pack, done)
    todo = engine.plan(pack, done)
    optional = [
        Check(f"optional {ext}", ext in present,
              ("present: " if ext in present else "not installed, so off: ") + enables, info=True)
        for ext, enables in OPTIONAL_EXTENSIONS.items()
    ]
    return [
        Check("database", True, f"PostgreSQL {version}, connected as {conn.info.user}"),
        Check("extensions", not lacking,
              f"required: {', '.join(required) or 'none'}"
              + (f"; missing: {', '.join(lacking)}" if lacking else ", present")),
        *optional,
        Check("migrations verified", not drift,
              "every applied file matches the pack" if not drift else
              "; ".join(f"{d.name} {d.problem}" for d in drift)),
        Check("nothing pending", not todo.files,
              "up to date" if not todo.files else f"{len(todo.files)} file(s) pending"),
    ]


def collect(conn: psycopg.Connection, pack: Pack, done: engine.Plan, seconds: float) -> Report:
    modules = [(m, sum(f.module == m for f in pack.versioned),
                sum(f.module == m for f in pack.repeatable)) for m in pack.modules]
    return Report(done, seconds, modules, _checks(conn, pack), health_mod.check(conn),
                  lint_mod.run(conn))


STATUS_STYLE = {"ok": ("ok  ", "green"), "degraded": ("WARN", "yellow"), "down": ("DOWN", "red")}


def print_checks(doc: dict) -> None:
    label, color = STATUS_STYLE[doc["status"]]
    click.echo(f"  {click.style(label, fg=color)} overall")
    for c in doc["checks"]:
        label, color = STATUS_STYLE[c["status"]]
        value = "" if c.get("value") is None else f"{c['value']} {c.get('unit', '')}"
        click.echo(f"  {click.style(label, fg=color)} {c['name']:<22} {value:<16} {c.get('detail', '')}")


def print_findings(findings: list[lint_mod.Finding]) -> None:
    if not findings:
        click.echo("  lint: no findings")
    for f in findings:
        click.echo(f"  {f.level:<5} {f.name}: {f.object}\n        {f.description}\n"
                   f"        fix: {f.remediation}")


def print_report(r: Report, dsn: str) -> None:
    click.secho(f"brandbase is up at {redact(dsn)}", bold=True)
    click.echo(f"\nmigrations: {len(r.applied_now.versioned)} versioned and "
               f"{len(r.applied_now.repeatable)} repeatable file(s) applied in {r.seconds:.2f} s")
    click.echo("\nmodules:")
    for name, versioned, repeatable in r.modules:
        click.echo(f"  {name:<12} {versioned} migration(s), {repeatable} code file(s)")
    click.echo("\nhealth:")
    for c in r.checks:
        if c.info:
            mark = click.style("ok  ", fg="green") if c.ok else click.style("info", fg="cyan")
        else:
            mark = click.style("ok  ", fg="green") if c.ok else click.style("FAIL", fg="red")
        click.echo(f"  {mark} {c.name:<28} {c.detail}")
    print_checks(r.health)
    click.echo("\nlint:")
    print_findings(r.findings)
