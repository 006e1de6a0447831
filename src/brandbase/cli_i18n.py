"""`brandbase i18n import|export|report|t`: translation files in and out of module i18n
(as the database owner or a service_role login). An import is one transaction: a file with
duplicate or conflicting keys, or any message the database refuses, imports nothing."""

from __future__ import annotations

import json
from pathlib import Path

import click
import psycopg

from . import i18n as i18n_mod
from .db import connect

DSN_HELP = "PostgreSQL connection string (default: $DATABASE_URL, else the local cluster)."
dsn_option = click.option("--dsn", envvar="DATABASE_URL", default=None, help=DSN_HELP)
ns_option = click.option("--namespace", "-n", default="common", show_default=True, help="Namespace.")
brand_option = click.option(
    "--brand", "brand_id", default=None, help="A brand's id: its own wording (default: global)."
)
PROGRESS_ABOVE = 1000  # rows: show a progress bar for files larger than this


def _run(obj, dsn: str | None, fn):
    with connect(obj.dsn(dsn), autocommit=True) as conn:
        try:
            return fn(conn)
        except psycopg.Error as exc:
            hint = f"\n  hint: {exc.diag.message_hint}" if exc.diag.message_hint else ""
            raise click.ClickException(f"{exc.diag.message_primary or exc} ({exc.sqlstate}){hint}") from None


@click.group("i18n")
def i18n() -> None:
    """Translations: import and export i18next JSON and gettext PO, quality report, try a key."""


@i18n.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--locale", "-l", default=None, help="The file's locale (PO: default from its Language header)."
)
@ns_option
@brand_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "po"]),
    default=None,
    help="File format (default: by extension).",
)
@click.option(
    "--status",
    type=click.Choice(["draft", "reviewed", "published"]),
    default=None,
    help="Status for every row (default: PO flags, else published).",
)
@dsn_option
@click.pass_obj
def import_cmd(obj, file, locale, namespace, brand_id, fmt, status, dsn) -> None:
    """Import FILE into a locale and namespace, all or nothing."""
    try:
        rows, language, fmt = i18n_mod.read_file(file, fmt)
    except i18n_mod.ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from None
    locale = locale or language
    if not locale:
        raise click.UsageError("give --locale (the file names none)")

    def go(conn):
        if len(rows) > PROGRESS_ABOVE:
            with click.progressbar(
                length=len(rows), label=f"importing {file.name}", file=click.get_text_stream("stderr")
            ) as bar:
                return i18n_mod.import_rows(conn, rows, namespace, locale, brand_id, status, bar.update)
        return i18n_mod.import_rows(conn, rows, namespace, locale, brand_id, status)

    n = _run(obj, dsn, go)
    click.echo(
        f"imported {n} messages into {namespace}/{locale}" + (f" for brand {brand_id}" if brand_id else "")
    )


@i18n.command("export")
@click.option("--locale", "-l", required=True, help="Locale to export.")
@ns_option
@brand_option
@click.option("--format", "fmt", type=click.Choice(["json", "po"]), default="json", show_default=True)
@click.option(
    "--style",
    type=click.Choice(["icu", "i18next"]),
    default="icu",
    show_default=True,
    help="json: ICU text (lossless, i18next-icu) or i18next's own v4 form (published rows).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (default: stdout).",
)
@dsn_option
@click.pass_obj
def export_cmd(obj, locale, namespace, brand_id, fmt, style, output, dsn) -> None:
    """Export one locale and namespace as i18next JSON or gettext PO."""

    def go(conn):
        if fmt == "json" and style == "i18next":
            return (
                json.dumps(
                    i18n_mod.export_i18next_native(conn, namespace, locale, brand_id),
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
        rows = i18n_mod.export_rows(conn, namespace, locale, brand_id)
        if fmt == "po":
            return i18n_mod.dump_po(rows, locale, i18n_mod.default_sources(conn, namespace))
        return i18n_mod.dump_i18next(rows)

    text = _run(obj, dsn, go)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@i18n.command("report")
@brand_option
@click.option("--namespace", "-n", default=None, help="Only this namespace.")
@dsn_option
@click.pass_obj
def report_cmd(obj, brand_id, namespace, dsn) -> None:
    """Quality findings: missing, unused, placeholder_mismatch, plural_missing."""
    rows = _run(
        obj, dsn, lambda c: c.execute("select * from i18n.report(%s, %s)", (brand_id, namespace)).fetchall()
    )
    for kind, ns, key, loc, detail in rows:
        click.echo(f"{kind:<22} {ns}/{key} [{loc}] {detail}")
    click.echo(f"{len(rows)} findings", err=True)


@i18n.command("t")
@click.argument("key")
@click.option("--locale", "-l", default=None, help="Locale tag or Accept-Language header.")
@click.option("--params", default="{}", help="Parameters as JSON.")
@ns_option
@brand_option
@dsn_option
@click.pass_obj
def t_cmd(obj, key, locale, params, namespace, brand_id, dsn) -> None:
    """Format KEY as the app would get it."""
    try:
        values = json.loads(params)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"params is not JSON: {exc}") from None
    from psycopg.types.json import Jsonb

    out = _run(
        obj,
        dsn,
        lambda c: c.execute(
            "select i18n.t(%s, %s, %s, %s, %s)", (key, locale, Jsonb(values), namespace, brand_id)
        ).fetchone()[0],
    )
    click.echo(out)
