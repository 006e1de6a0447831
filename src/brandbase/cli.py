"""The `brandbase` command line: local cluster, migrations, checks and reports."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
import psycopg

from . import advise as advise_mod
from . import bundle as bundle_mod
from . import explain as explain_mod
from . import geoip as geoip_mod
from . import health as health_mod
from . import lint as lint_mod
from . import migrate as engine
from . import pack as pack_mod
from . import seed as seed_mod
from . import slow as slow_mod
from . import summary
from .db import connect, pooler_hint, redact, transaction_pooler
from .local import LocalCluster, LocalError

DSN_HELP = "PostgreSQL connection string (default: $DATABASE_URL, else the local cluster)."


class Ctx:
    def __init__(self, home: Path, root: Path | None):
        self.home = home
        self.root = root

    @property
    def cluster(self) -> LocalCluster:
        return LocalCluster(self.home, supabase=True)

    def pack(self) -> pack_mod.Pack:
        return pack_mod.load(self.root)

    def dsn(self, dsn: str | None) -> str:
        if dsn:
            return dsn
        cluster = self.cluster
        if not cluster.exists or not cluster.running():
            raise click.ClickException(
                "no --dsn or DATABASE_URL given and the local cluster is not running\n"
                "  hint: `brandbase up` starts it, or pass --dsn postgresql://..."
            )
        return cluster.url()


class FriendlyGroup(click.Group):
    """Turns the pack's known failures into one-line errors with exit code 1, no traceback."""

    KNOWN = (pack_mod.PackError, engine.MigrationError, engine.DriftError, engine.PreflightError,
             engine.SessionMoved, LocalError)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except self.KNOWN as exc:
            raise click.ClickException(str(exc)) from None


dsn_option = click.option("--dsn", envvar="DATABASE_URL", default=None, help=DSN_HELP)
pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), envvar="BRANDBASE_HOME",
              default=Path(".brandbase"), show_default=True,
              help="Where the local cluster lives.")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False),
              envvar="BRANDBASE_ROOT", default=None,
              help="Pack root holding migrations/ and sql/ (default: the installed pack).")
@click.pass_context
def main(ctx: click.Context, home: Path, root: Path | None) -> None:
    """brandbase: the platform layer for multi-brand Supabase projects."""
    ctx.obj = Ctx(home, root)


# -- local cluster -----------------------------------------------------------------------------
@main.group(cls=FriendlyGroup)
def local() -> None:
    """The embedded PostgreSQL under --home (loopback only)."""


@local.command("start")
@pass_ctx
def local_start(obj: Ctx) -> None:
    """Create (first time) and start the local cluster."""
    obj.cluster.start(log=lambda m: click.echo(m, err=True))
    click.echo(obj.cluster.url())


@local.command("stop")
@pass_ctx
def local_stop(obj: Ctx) -> None:
    """Stop the local cluster (data kept)."""
    obj.cluster.stop()
    click.echo("stopped")


@local.command("status")
@pass_ctx
def local_status(obj: Ctx) -> None:
    """Say whether the local cluster exists and runs; exit 1 when it does not run."""
    cluster = obj.cluster
    if not cluster.exists:
        click.echo(f"no local cluster in {cluster.home}")
        sys.exit(1)
    state = cluster.state
    running = cluster.running(state)
    click.echo(f"{'running' if running else 'stopped'}: 127.0.0.1:{state.port} "
               f"data={state.pgdata} server-user={state.run_as or 'self'}")
    sys.exit(0 if running else 1)


@local.command("url")
@click.option("--superuser", is_flag=True, help="The superuser's URL instead of the owner's.")
@pass_ctx
def local_url(obj: Ctx, superuser: bool) -> None:
    """Print the connection URL of the local cluster."""
    click.echo(obj.cluster.url(superuser=superuser))


@local.command("destroy")
@click.confirmation_option(prompt="Delete the local cluster and all its data?")
@pass_ctx
def local_destroy(obj: Ctx) -> None:
    """Stop the local cluster and delete its data."""
    obj.cluster.destroy()
    click.echo("destroyed")


# -- migrations ------------------------------------------------------------------------------
def refuse_transaction_pooler(dsn: str, what: str) -> None:
    """Stop with a clear message when `dsn` goes through a transaction-mode pooler."""
    with connect(dsn):
        pass  # a DSN that cannot connect fails here with the usual message
    try:
        reason = transaction_pooler(dsn)
    except psycopg.Error as exc:
        raise click.ClickException(f"cannot probe {redact(dsn)} for a pooler: "
                                   f"{str(exc).strip()}") from None
    if reason:
        raise click.ClickException(
            f"{redact(dsn)} goes through a transaction-mode pooler: {reason}; "
            f"refusing to run {what}\n" + pooler_hint(what))


def _apply(dsn: str, pack: pack_mod.Pack) -> tuple[engine.Plan, float]:
    started = time.perf_counter()

    def progress(f: pack_mod.SqlFile, ms: float) -> None:
        click.echo(f"  applied {f.name:<58} {ms:8.1f} ms", err=True)

    refuse_transaction_pooler(dsn, "brandbase migrate")
    with connect(dsn) as conn:
        done = engine.migrate(conn, pack, on_file=progress)
    return done, time.perf_counter() - started


@main.command()
@dsn_option
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run; change nothing.")
@pass_ctx
def migrate(obj: Ctx, dsn: str | None, dry_run: bool) -> None:
    """Apply pending migrations, then changed repeatable code."""
    pack, dsn = obj.pack(), obj.dsn(dsn)
    if dry_run:
        with connect(dsn) as conn:
            todo = engine.plan(pack, engine.applied(conn))
            missing = engine.preflight(conn, pack)
            if missing:
                click.echo(str(engine.PreflightError(missing, conn.info.user, conn.info.dbname)),
                           err=True)
        for f in todo.files:
            f.statements  # noqa: B018 - parse now: a syntax error fails the dry run too
        click.echo(engine.dry_run_sql(todo) or "-- nothing to do")
        return
    done, seconds = _apply(dsn, pack)
    click.echo(f"{len(done.versioned)} migration(s) and {len(done.repeatable)} repeatable "
               f"file(s) applied in {seconds:.2f} s")


@main.command()
@dsn_option
@pass_ctx
def status(obj: Ctx, dsn: str | None) -> None:
    """List applied and pending files."""
    pack = obj.pack()
    with connect(obj.dsn(dsn)) as conn:
        done = engine.applied(conn)
        rows = engine.history(conn)
    for version, module, name, _kind, by, at, ms in rows:
        click.echo(f"  {version:>4}  {module:<10} {name:<58} {by} {at:%Y-%m-%d %H:%M} {ms} ms")
    todo = engine.plan(pack, done)
    for f in todo.files:
        click.echo(f"  pending  {f.module:<10} {f.name}")
    click.echo(f"{len(todo.versioned)} pending migration(s), "
               f"{len(todo.repeatable)} repeatable file(s) to (re)apply")


@main.command()
@dsn_option
@pass_ctx
def verify(obj: Ctx, dsn: str | None) -> None:
    """Fail (exit 1) when an applied migration was edited or is unknown to this pack."""
    pack = obj.pack()
    with connect(obj.dsn(dsn)) as conn:
        drift = engine.verify(pack, engine.applied(conn))
    for d in drift:
        click.echo(f"  {d.name}: {d.problem}", err=True)
    if drift:
        raise click.ClickException(f"{len(drift)} applied migration(s) differ from the pack")
    click.echo("verified: every applied migration matches the pack")


@main.command()
@click.argument("module")
@click.argument("what")
@pass_ctx
def new(obj: Ctx, module: str, what: str) -> None:
    """Create the next versioned migration file for MODULE."""
    pack = obj.pack()
    version = len(pack.versioned) + 1
    name = f"{version:04d}_{module}__{what.replace('-', '_').replace(' ', '_')}.sql"
    if not pack_mod.VERSIONED_RE.match(name):
        raise click.ClickException(f"invalid migration name {name}; use lower-case words")
    path = pack.root / "migrations" / name
    path.write_text(f"-- brandbase {version:04d} ({module}): {what}\n\n")
    click.echo(path)


@main.command()
@click.option("--supabase", "out", type=click.Path(path_type=Path, file_okay=False),
              required=True, help="The Supabase migrations folder, e.g. supabase/migrations.")
@pass_ctx
def bundle(obj: Ctx, out: Path) -> None:
    """Write the pack as Supabase CLI migration files (incremental)."""
    written = bundle_mod.bundle(obj.pack(), out)
    for path in written:
        click.echo(f"  wrote {path}")
    click.echo(f"{len(written)} file(s) written to {out}")


# -- checks ----------------------------------------------------------------------------------
@main.command()
@dsn_option
@click.option("--schema", "schemas", multiple=True, help="Schemas to lint (default: the pack's).")
@click.option("--level", type=click.Choice(lint_mod.LEVELS, case_sensitive=False),
              default="INFO", show_default=True, help="Lowest level to report.")
@pass_ctx
def lint(obj: Ctx, dsn: str | None, schemas: tuple[str, ...], level: str) -> None:
    """Schema lints; exit 1 on any ERROR finding."""
    with connect(obj.dsn(dsn)) as conn:
        findings = lint_mod.run(conn, list(schemas) or None, level)
    summary.print_findings(findings)
    if any(f.level == "ERROR" for f in findings):
        sys.exit(1)


# -- health and metrics ----------------------------------------------------------------------
@main.command()
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print health.check()'s JSON document.")
@click.option("--probe-external", is_flag=True,
              help="First probe the watched external services (health.watch) and record the results.")
@pass_ctx
def health(obj: Ctx, dsn: str | None, as_json: bool, probe_external: bool) -> None:
    """Run every health probe; exit 0 ok, 1 degraded, 2 down (for uptime monitors)."""
    try:
        conn = connect(obj.dsn(dsn))
    except click.ClickException as exc:  # unreachable is down, not a usage error
        click.echo(f"DOWN {exc.message}", err=True)
        sys.exit(health_mod.EXIT_CODES["down"])
    with conn:
        if probe_external:
            for name, ok, what in health_mod.probe_external(conn):
                click.echo(f"  probed {name}: {'up' if ok else 'DOWN'} ({what})", err=True)
        doc = health_mod.check(conn)
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        summary.print_checks(doc)
    sys.exit(health_mod.EXIT_CODES[doc["status"]])


@main.command()
@dsn_option
@click.option("--serve", "address", default=None, metavar="HOST:PORT",
              help="Serve /metrics over HTTP instead of printing once.")
@pass_ctx
def metrics(obj: Ctx, dsn: str | None, address: str | None) -> None:
    """Prometheus metrics: health checks and core PostgreSQL figures."""
    from prometheus_client import CollectorRegistry, generate_latest, start_http_server

    registry = CollectorRegistry()
    registry.register(health_mod.PackCollector(obj.dsn(dsn)))
    if address is None:
        click.echo(generate_latest(registry).decode(), nl=False)
        return
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
    click.echo(f"serving metrics on http://{host or '127.0.0.1'}:{server.server_port}/metrics", err=True)
    try:
        server.serve_forever()  # already serving in a thread; block here until interrupted
    except KeyboardInterrupt:
        server.shutdown()


# -- explain -----------------------------------------------------------------------------------
@main.command("explain")
@dsn_option
@click.option("--catalog", "use_catalog", is_flag=True, help="The pack's query catalogue (default).")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Also a SQL file of your own queries (same headers).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE.")
@click.option("--from-stats", "from_stats", type=int, default=0, metavar="N",
              help="Also the N heaviest statements from pg_stat_statements.")
@click.option("--advise", is_flag=True,
              help="Propose indexes for flagged queries (proven with hypopg); report unindexed "
                   "foreign keys, duplicate and unused indexes.")
@pass_ctx
def explain_cmd(obj: Ctx, dsn: str | None, use_catalog: bool, files: tuple[Path, ...], fmt: str,
                output: Path | None, from_stats: int, advise: bool) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) each query as the app's role, rolled back; exit 1 on an
    error, a finding other than a row-estimate miss, or a query skipped for want of sample
    data (brandbase seed)."""
    queries = []
    if use_catalog or not files:
        queries += explain_mod.load_catalog(pack_mod.default_root() if obj.root is None else obj.root)
    for f in files:
        try:
            queries += explain_mod.parse_catalog(f)
        except pack_mod.PackError as exc:  # a broken file is reported; the rest still runs
            click.echo(f"skipped {f}: {exc}", err=True)
    with connect(obj.dsn(dsn), autocommit=False) as conn:
        if from_stats:
            try:
                stats, skipped = explain_mod.from_stats(conn, from_stats)
                queries += stats
                if skipped:
                    click.echo(f"skipped {skipped} normalised statement(s) with $n parameters "
                               "(PostgreSQL 15 cannot plan them without values)", err=True)
            except slow_mod.NoStatements as exc:
                click.echo(f"--from-stats: {exc}", err=True)
            conn.rollback()
        params = explain_mod.parameters(conn)
        reports = explain_mod.run(conn, queries, params)
        if advise:
            _print_advice(conn, reports, params)
    render = {"text": explain_mod.as_text, "json": explain_mod.as_json, "html": explain_mod.as_html,
              "markdown": lambda r: explain_mod.as_text(r, markdown=True)}[fmt]
    out = render(reports)
    if output:
        output.write_text(out)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(out, nl=False)
    skipped = [r for r in reports if r.skipped]
    if skipped:
        click.echo(f"skipped {len(skipped)} of {len(reports)} queries "
                   f"({', '.join(r.query.name for r in skipped)}): {explain_mod.NEEDS_SAMPLE}\n"
                   f"  hint: {explain_mod.NEEDS_HINT}", err=True)
    if skipped or any(r.error or any(f.kind not in explain_mod.ADVISORY for f in r.findings)
                      for r in reports):
        sys.exit(1)


def _print_advice(conn, reports, params) -> None:
    echo = lambda m: click.echo(m, err=True)  # noqa: E731 - the report itself goes to stdout
    if advise_mod.hypopg_schema(conn):
        for a in advise_mod.advise(conn, reports, params):
            echo(f"advice {a.query}: {a.index};  -- cost {a.cost_before:,.0f} -> {a.cost_after:,.0f} "
                 f"({a.gain:,.0f}x)")
    else:
        echo("advice: hypopg is not installed here, so proposals cannot be proven "
             "(Debian: apt-get install postgresql-15-hypopg; then create extension hypopg)")
    with conn.transaction():
        schemas = lint_mod.pack_schemas(conn) + ["public"]
        for f in lint_mod.run(conn, schemas):
            if f.name in ("unindexed_foreign_key", "duplicate_index"):
                echo(f"{f.name}: {f.object};  fix: {f.remediation}")
        for index, table, size in advise_mod.unused_indexes(conn, schemas):
            echo(f"unused_index: {index} on {table} ({size:,} bytes, never scanned since stats reset)")


# -- geoip ---------------------------------------------------------------------------------------
@main.group(cls=FriendlyGroup)
def geoip() -> None:
    """IP-to-country data for geo rules."""


@geoip.command("load")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@dsn_option
@pass_ctx
def geoip_load(obj: Ctx, file: Path, dsn: str | None) -> None:
    """Load a GeoLite2-style CSV (network, country_iso_code) into access.geoip."""
    with connect(obj.dsn(dsn)) as conn, click.progressbar(length=max(file.stat().st_size // 30, 1),
                                                           label="loading", file=sys.stderr) as bar:
        try:
            loaded, skipped = geoip_mod.load(conn, file, bar.update)
        except geoip_mod.GeoipError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{loaded:,} blocks loaded, {skipped:,} skipped (malformed network or unknown country)")


# -- seed --------------------------------------------------------------------------------------
@main.command("seed")
@dsn_option
@click.option("--brands", default=1000, show_default=True, help="How many brands.")
@click.option("--scale", default=1.0, show_default=True, help="Multiplies the rows per module.")
@click.option("--seed", "seed_value", default=42, show_default=True, help="Same seed, same data.")
@pass_ctx
def seed_cmd(obj: Ctx, dsn: str | None, brands: int, scale: float, seed_value: int) -> None:
    """Fill every installed module with representative, skewed, deterministic data."""
    if brands < 1 or scale <= 0:
        raise click.BadParameter("--brands must be at least 1 and --scale positive")
    plan = seed_mod.Plan(brands, scale, seed_value)
    total = plan.brands + plan.members + plan.audit_entries + plan.versions
    with connect(obj.dsn(dsn)) as conn, click.progressbar(length=total, label="seeding",
                                                           file=sys.stderr) as bar:
        try:
            counts = seed_mod.seed(conn, plan, lambda step, n: bar.update(n))
        except seed_mod.AlreadySeeded as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(", ".join(f"{n:,} {what}" for what, n in counts.items()))


# -- slow queries ------------------------------------------------------------------------------
@main.command()
@dsn_option
@click.option("--by", type=click.Choice(list(slow_mod.ORDERS)), default="total", show_default=True)
@click.option("-n", "limit", default=15, show_default=True, help="How many statements.")
@click.option("--save", "save_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Also save this snapshot to FILE.")
@click.option("--since", "since", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Only what ran since the snapshot in FILE.")
@pass_ctx
def slow(obj: Ctx, dsn: str | None, by: str, limit: int, save_to: Path | None,
         since: Path | None) -> None:
    """The heaviest statements (pg_stat_statements), optionally since a saved snapshot."""
    with connect(obj.dsn(dsn)) as conn:
        try:
            now = slow_mod.snapshot(conn)
        except slow_mod.NoStatements as exc:
            raise click.ClickException(str(exc)) from None
    if save_to:
        slow_mod.save(now, save_to)
    shown = slow_mod.diff(slow_mod.load(since), now) if since else now
    click.echo(f"{'calls':>9} {'total ms':>11} {'mean ms':>9} {'rows':>9}  query")
    for s in slow_mod.top(shown, by, limit):
        query = " ".join(s.query.split())
        click.echo(f"{s.calls:>9} {s.total_ms:>11.1f} {s.mean_ms:>9.3f} {s.rows:>9}  {query[:100]}")


# -- audit -----------------------------------------------------------------------------------
@main.group(cls=FriendlyGroup)
def audit() -> None:
    """Read, seal and verify the audit trail (as the database owner: every brand)."""


@audit.command("tail")
@dsn_option
@click.option("--brand", "brand_id", default=None, help="Only this brand's entries.")
@click.option("--table", "table_name", default=None, help="Only this table (schema.table).")
@click.option("-n", "limit", default=20, show_default=True, help="How many entries.")
@pass_ctx
def audit_tail(obj: Ctx, dsn: str | None, brand_id: str | None, table_name: str | None,
               limit: int) -> None:
    """The newest entries, newest last."""
    with connect(obj.dsn(dsn)) as conn:
        rows = conn.execute(
            "select id, occurred_at, brand_id, table_name, operation, record_key, actor_id "
            "from audit.logs where (%(b)s::uuid is null or brand_id = %(b)s::uuid) "
            "and (%(t)s::text is null or table_name = %(t)s) order by occurred_at desc, id desc "
            "limit %(n)s", {"b": brand_id, "t": table_name, "n": limit}).fetchall()
    for r in reversed(rows):
        click.echo(f"{r[0]:>8} {r[1]:%Y-%m-%d %H:%M:%S} {r[2]} {r[3]:<24} {r[4]:<8} "
                   f"{json.dumps(r[5])} by {r[6] or '-'}")


@audit.command("show")
@click.argument("entry_id", type=int)
@dsn_option
@pass_ctx
def audit_show(obj: Ctx, entry_id: int, dsn: str | None) -> None:
    """One entry, whole, as JSON."""
    with connect(obj.dsn(dsn)) as conn:
        row = conn.execute("select to_jsonb(l) from audit.logs as l where id = %s",
                           (entry_id,)).fetchone()
    if row is None:
        raise click.ClickException(f"no audit entry {entry_id}")
    click.echo(json.dumps(row[0], indent=2, sort_keys=True))


@audit.command("seal")
@dsn_option
@pass_ctx
def audit_seal(obj: Ctx, dsn: str | None) -> None:
    """Seal what finished since the last round (pg_cron does this every minute)."""
    with connect(obj.dsn(dsn)) as conn:
        sealed = conn.execute("select audit.seal()").fetchone()[0]
    click.echo(f"sealed {sealed} entries")


@audit.command("verify")
@dsn_option
@click.option("--brand", "brand_id", default=None, help="One brand (default: every brand).")
@pass_ctx
def audit_verify(obj: Ctx, dsn: str | None, brand_id: str | None) -> None:
    """Check the log against its seals; exit 1 naming every altered, removed or
    out-of-band entry."""
    with connect(obj.dsn(dsn)) as conn:
        rows = conn.execute(
            "select b.brand_id, v.entry_id, v.problem, v.detail "
            "from (select brand_id from audit.chain union select brand_id from audit.logs "
            "      where not sealed) as b, audit.verify(b.brand_id) as v "
            "where %(b)s::uuid is null or b.brand_id = %(b)s::uuid",
            {"b": brand_id}).fetchall()
    for brand, entry, problem, detail in rows:
        click.echo(f"  {brand} entry {entry}: {problem} - {detail}", err=True)
    if rows:
        raise click.ClickException(f"{len(rows)} problem(s) in the audit trail")
    click.echo("intact: every sealed entry matches its seal, and no unsealed one is out of band")



# -- worker ----------------------------------------------------------------------------------
@main.command()
@dsn_option
@click.option("--handlers", "specs", multiple=True, metavar="MODULE:ATTR",
              help="Python handlers: a dict {queue: callable} or one callable named after its "
                   "queue (repeatable). Entry points in group brandbase.handlers load too.")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Jobs run at once by this process.")
@click.option("--prefetch", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Jobs claimed ahead and started as slots free up: fewer, bigger round trips "
                   "for short jobs; their leases run while they wait.")
@click.option("--deliveries", default=100, show_default=True, type=click.IntRange(0, 1000),
              help="Webhook deliveries in flight at once (0: deliver none).")
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(0.01),
              help="Seconds between checks when no NOTIFY arrives.")
@click.option("--grace", default=30.0, show_default=True, type=click.FloatRange(0),
              help="Seconds running jobs get to finish after SIGTERM before they are released.")
@click.option("--drain", is_flag=True, help="Exit once no job is ready or running.")
@pass_ctx
def worker(obj: Ctx, dsn: str | None, specs: tuple[str, ...], concurrency: int, prefetch: int,
           deliveries: int, poll: float, grace: float, drain: bool) -> None:
    """Run jobs, webhook deliveries, schedules (without pg_cron) and health probes."""
    import asyncio

    from . import worker as worker_mod

    try:
        runner = worker_mod.Worker(obj.dsn(dsn), worker_mod.load_handlers(list(specs)),
                                   concurrency=concurrency, prefetch=prefetch,
                                   deliveries=deliveries, poll=poll,
                                   grace=grace, drain=drain,
                                   log=lambda m: click.echo(m, err=True))
        click.echo(f"worker {runner.id}: queues {', '.join(runner.handlers) or '(none)'}", err=True)
        settled = asyncio.run(runner.run())
    except worker_mod.WorkerError as exc:
        raise click.ClickException(str(exc)) from None
    sent = runner.sender.sent if runner.sender else 0
    click.echo(f"worker {runner.id}: {settled} job(s) settled, {sent} delivery attempt(s) recorded, "
               f"settled in {runner.seconds:.3f} s", err=True)

@main.command()
@dsn_option
@pass_ctx
def up(obj: Ctx, dsn: str | None) -> None:
    """Start the local cluster (without --dsn), apply everything, print a summary."""
    local_cluster = not dsn
    if local_cluster:
        obj.cluster.start(log=lambda m: click.echo(m, err=True))
        dsn = obj.cluster.url()
    pack = obj.pack()
    done, seconds = _apply(dsn, pack)
    with connect(dsn) as conn:
        report = summary.collect(conn, pack, done, seconds)
    summary.print_report(report, dsn)
    if local_cluster:
        click.echo(f"\nconnect: psql \"$(brandbase --home {obj.home} local url)\"   "
                   "stop: brandbase local stop")
    if report.failed:
        sys.exit(1)


from .cli_flags import flags as flags_group  # noqa: E402 (its own module; registered here)

main.add_command(flags_group)

from .cli_search import search as search_group  # noqa: E402 - registered after main exists

main.add_command(search_group)

from .cli_notify import notify as notify_group  # noqa: E402 - registered after main exists
from .cli_notify import realtime_cmd  # noqa: E402

main.add_command(notify_group)
main.add_command(realtime_cmd)
from .cli_i18n import i18n as i18n_group  # noqa: E402 - registered after main exists

main.add_command(i18n_group)

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
