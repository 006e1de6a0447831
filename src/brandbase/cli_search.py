"""`brandbase search`: reindex, stats and try, for operators of module search."""

from __future__ import annotations

import json

import click

from . import search as search_mod
from .db import connect

# Not imported from .cli, which imports this module to register the group.
dsn_option = click.option("--dsn", envvar="DATABASE_URL", default=None,
                          help="PostgreSQL URL (default: $DATABASE_URL, else the local cluster).")
pass_ctx = click.pass_obj


class SearchGroup(click.Group):
    """SearchError becomes a one-line error with exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except search_mod.SearchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group("search", cls=SearchGroup)
def search() -> None:
    """Full-text search: reindex, stats, try a query."""


@search.command("reindex")
@click.argument("table", required=False)
@dsn_option
@pass_ctx
def search_reindex(obj, table: str | None, dsn: str | None) -> None:
    """Rebuild the search indexes (concurrently) of TABLE, or of every enabled table."""
    with connect(obj.dsn(dsn), autocommit=True) as conn:
        done = search_mod.reindex(conn, table, log=lambda m: click.echo(m, err=True))
    click.echo(f"{len(done)} indexes rebuilt")


@search.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@dsn_option
@pass_ctx
def search_stats(obj, as_json: bool, dsn: str | None) -> None:
    """Enabled tables: rows, sizes, searches and zero-result share of the last 30 days."""
    with connect(obj.dsn(dsn)) as conn:
        rows = search_mod.stats(conn)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], default=str, indent=2))
        return
    if not rows:
        click.echo("no search-enabled table (select search.enable('schema.table', '{\"title\": \"A\"}'))")
    for r in rows:
        latency = "-" if not r.latency_ms else f"p50 {r.latency_ms[0]:.1f} ms, p95 {r.latency_ms[1]:.1f} ms"
        zero = f"{r.zero_result_30d / r.searches_30d:.0%}" if r.searches_30d else "-"
        click.echo(f"{r.table}: {r.rows:,} rows, {r.config}, columns {r.columns}, "
                   f"table {r.table_bytes / 2**20:.1f} MB, search indexes {r.index_bytes / 2**20:.1f} MB"
                   f"{', (brand, vector) GIN' if r.composite_gin else ''}"
                   f"{', unaccent' if r.unaccent else ''}; "
                   f"30 days: {r.searches_30d:,} searches, zero results {zero}, {latency}")


@search.command("try")
@click.argument("q")
@click.option("--table", required=True, help="A search-enabled table, e.g. public.posts.")
@click.option("--brand", required=True, help="The brand's id or slug.")
@click.option("--user", default=None, help="A member's email (default: the brand's owner).")
@click.option("--limit", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print search.query()'s whole answer.")
@dsn_option
@pass_ctx
def search_try(obj, q: str, table: str, brand: str, user: str | None, limit: int, as_json: bool,
               dsn: str | None) -> None:
    """Run Q as a member of the brand would (RLS on, nothing logged) and print the hits."""
    with connect(obj.dsn(dsn)) as conn:
        result, elapsed, email = search_mod.try_query(conn, table, q, brand, user, {"limit": limit})
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    estimate = "+" if result["total_is_estimate"] else ""
    click.echo(f"{result['total']}{estimate} matches in {elapsed * 1000:.1f} ms as {email}"
               f"{' (typo fallback)' if result['typo_fallback'] else ''}")
    if result.get("did_you_mean"):
        click.echo(f"did you mean: {result['did_you_mean']}")
    for i, hit in enumerate(result["hits"], start=1):
        shown = next(iter(hit.get("highlights", {}).values()), None) or json.dumps(hit["document"])[:100]
        click.echo(f"{i:>3}. {hit['score']:.4f} {json.dumps(hit['key'])} {shown}")
