"""`brandbase flags list|get|set|evaluate|import|export`: the operator's view of module flags
(as the database owner or a service_role login: every flag, every environment)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import psycopg

from . import flags as flags_mod
from .db import connect

DSN_HELP = "PostgreSQL connection string (default: $DATABASE_URL, else the local cluster)."
dsn_option = click.option("--dsn", envvar="DATABASE_URL", default=None, help=DSN_HELP)
env_option = click.option(
    "--env",
    "environment",
    default=None,
    help="Environment (default: flags.settings.environment, production).",
)


def _json_arg(text: str | None, what: str):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} is not JSON: {exc}") from None


def _run(obj, dsn: str | None, fn):
    with connect(obj.dsn(dsn)) as conn:
        try:
            return fn(conn)
        except psycopg.Error as exc:
            hint = f"\n  hint: {exc.diag.message_hint}" if exc.diag.message_hint else ""
            raise click.ClickException(f"{exc.diag.message_primary or exc} ({exc.sqlstate}){hint}") from None


@click.group("flags")
def flags() -> None:
    """Feature flags: list, inspect, change, evaluate, import from and export to Unleash."""


@flags.command("list")
@dsn_option
@env_option
@click.option("--archived", is_flag=True, help="Include archived flags.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_cmd(obj, dsn, environment, archived, as_json) -> None:
    """Every flag with its kind and its state in the environment."""
    rows = _run(obj, dsn, lambda c: flags_mod.list_flags(c, environment, archived))
    if as_json:
        click.echo(flags_mod.dumps(rows))
        return
    for r in rows:
        state = "archived" if r["archived"] else ("on" if r["enabled"] else "off")
        click.echo(
            f"{r['key']:<40} {r['kind']:<8} {state:<8} {r['strategies']} strategies  {r['description']}"
        )


@flags.command("get")
@click.argument("key")
@dsn_option
@click.pass_obj
def get_cmd(obj, key, dsn) -> None:
    """One flag, whole, as JSON (definition and every environment)."""
    flag = _run(obj, dsn, lambda c: flags_mod.get_flag(c, key))
    if flag is None:
        raise click.ClickException(f"flag {key} not found")
    click.echo(json.dumps(flag, indent=2, ensure_ascii=False))


@flags.command("set")
@click.argument("key")
@dsn_option
@env_option
@click.option("--kind", type=click.Choice(["boolean", "string", "number", "json"]), default=None)
@click.option("--description", default=None)
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--value", "on_value", default=None, help="The on value, as JSON (non-boolean flags).")
@click.option("--variants", default=None, help="Unleash variants, as JSON.")
@click.option("--depends-on", "dependencies", default=None, help="Dependencies, as JSON.")
@click.option("--on/--off", "enabled", default=None, help="The kill switch in the environment.")
@click.option("--strategies", default=None, help="The environment's Unleash strategies, as JSON.")
@click.option("--archive/--unarchive", "archive", default=None)
@click.pass_obj
def set_cmd(
    obj,
    key,
    dsn,
    environment,
    kind,
    description,
    tags,
    on_value,
    variants,
    dependencies,
    enabled,
    strategies,
    archive,
) -> None:
    """Create or change a flag; with --on/--off or --strategies, its environment too."""

    def apply(conn):
        with conn.transaction():
            current = flags_mod.get_flag(conn, key) or {}
            if (
                current == {}
                or any(v is not None for v in (kind, description, on_value, variants, dependencies))
                or tags
            ):
                flags_mod.set_flag(
                    conn,
                    key,
                    kind or current.get("kind", "boolean"),
                    description if description is not None else current.get("description", ""),
                    list(tags) if tags else current.get("tags", []),
                    _json_arg(on_value, "--value") if on_value is not None else current.get("on_value"),
                    _json_arg(variants, "--variants")
                    if variants is not None
                    else current.get("variants", []),
                    _json_arg(dependencies, "--depends-on")
                    if dependencies is not None
                    else current.get("dependencies", []),
                )
            if enabled is not None or strategies is not None:
                env = environment or conn.execute("select environment from flags.settings").fetchone()[0]
                flags_mod.set_environment(conn, key, env, enabled, _json_arg(strategies, "--strategies"))
            if archive is not None:
                conn.execute("select flags.archive(%s, %s)", (key, archive))

    _run(obj, dsn, apply)
    click.echo(f"flag {key} saved")


@flags.command("evaluate")
@click.argument("key", required=False)
@dsn_option
@env_option
@click.option("--context", default="{}", help="Unleash context, as JSON.")
@click.option("--default", "default", default=None, help="The caller's default, as JSON.")
@click.option("--brand", "brand_id", default=None, help="Apply this brand's overrides and plan.")
@click.option("--user", "user_id", default=None, help="Apply this member's overrides.")
@click.pass_obj
def evaluate_cmd(obj, key, dsn, environment, context, default, brand_id, user_id) -> None:
    """Evaluate one flag (or, without KEY, every flag) and print the result as JSON."""
    ctx = _json_arg(context, "--context")
    if key is None:
        out = _run(
            obj,
            dsn,
            lambda c: [e.as_dict() for e in flags_mod.evaluate_all(c, ctx, environment, brand_id, user_id)],
        )
    else:
        out = _run(
            obj,
            dsn,
            lambda c: flags_mod.evaluate(
                c, key, ctx, _json_arg(default, "--default"), environment, brand_id, user_id
            ).as_dict(),
        )
    click.echo(flags_mod.dumps(out))


@flags.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--unleash",
    "unleash",
    is_flag=True,
    required=True,
    help="FILE is Unleash's client features document (/api/client/features).",
)
@dsn_option
@env_option
@click.pass_obj
def import_cmd(obj, file, unleash, dsn, environment) -> None:
    """Import Unleash's features and segments into one environment, all or nothing."""
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    document = _json_arg(text, str(file))
    if isinstance(document, dict) and "state" in document and "features" not in document:
        document = document["state"]  # a client-specification file
    n = _run(obj, dsn, lambda c: flags_mod.import_unleash(c, document, environment))
    click.echo(f"imported {n} flags")


@flags.command("export")
@dsn_option
@env_option
@click.option("--unleash", "unleash", is_flag=True, default=True, help="Unleash's client features format.")
@click.pass_obj
def export_cmd(obj, dsn, environment, unleash) -> None:
    """Print the environment's flags as Unleash's client features document."""
    click.echo(
        json.dumps(
            _run(obj, dsn, lambda c: flags_mod.export_unleash(c, environment)), indent=2, ensure_ascii=False
        )
    )
