"""`brandbase notify send|tail|prefs|deliver` and `brandbase realtime`, for operators of
module notify."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import click
import psycopg
from psycopg.types.json import Jsonb

from .db import connect

# Not imported from .cli, which imports this module to register the group.
dsn_option = click.option(
    "--dsn",
    envvar="DATABASE_URL",
    default=None,
    help="PostgreSQL URL (default: $DATABASE_URL, else the local cluster).",
)
pass_ctx = click.pass_obj


def _brand(conn, ref: str) -> str:
    row = conn.execute(
        "select id::text from brand.brands where id::text = %s or slug = %s", (ref, ref)
    ).fetchone()
    if not row:
        raise click.ClickException(f"no brand {ref!r} (give its id or slug)")
    return row[0]


def _user(conn, ref: str) -> str:
    row = conn.execute(
        "select id::text from auth.users where id::text = %s or email = %s", (ref, ref.lower())
    ).fetchone()
    if not row:
        raise click.ClickException(f"no user {ref!r} (give an id or an email)")
    return row[0]


@click.group("notify")
def notify() -> None:
    """Notifications: send, tail, a user's preferences, email delivery."""


@notify.command("send")
@click.option("--brand", "brand_ref", required=True, help="Brand id or slug.")
@click.option("--to", "to", multiple=True, help="A recipient (user id or email; repeatable).")
@click.option("--permission", default=None, help="Or: every member holding this permission.")
@click.option("--category", default="system", show_default=True)
@click.option("--title", required=True)
@click.option("--body", default=None)
@click.option("--url", "action_url", default=None)
@click.option("--key", "idempotency_key", default=None, help="Idempotency key.")
@dsn_option
@pass_ctx
def send_cmd(obj, brand_ref, to, permission, category, title, body, action_url, idempotency_key, dsn) -> None:
    """Send a notification (as the operator: no sender permission needed)."""
    if bool(to) == bool(permission):
        raise click.UsageError("give --to (one or more) or --permission")
    with connect(obj.dsn(dsn), autocommit=True) as conn:
        brand_id = _brand(conn, brand_ref)
        recipients = {"permission": permission} if permission else [_user(conn, t) for t in to]
        try:
            n = conn.execute(
                "select notify.send(%s, %s, %s, %s, %s, '{}', %s, %s)",
                (brand_id, Jsonb(recipients), category, title, body, action_url, idempotency_key),
            ).fetchone()[0]
        except psycopg.Error as exc:
            raise click.ClickException(
                f"{exc.diag.message_primary} ({exc.sqlstate})\n  hint: {exc.diag.message_hint}"
            ) from None
    click.echo(f"{n} notification(s) sent")


@notify.command("tail")
@click.option("--brand", "brand_ref", default=None, help="Only this brand (id or slug).")
@click.option("-n", "count", default=20, show_default=True, help="How many of the latest to show first.")
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep printing new ones.")
@dsn_option
@pass_ctx
def tail_cmd(obj, brand_ref, count, follow, dsn) -> None:
    """Print the latest notifications, then new ones as they are written."""
    with connect(obj.dsn(dsn), autocommit=True) as conn:
        brand_id = _brand(conn, brand_ref) if brand_ref else None
        query = (
            "select n.id, n.created_at, b.slug, u.email, n.category, n.title from notify.notifications as n "
            "join brand.brands as b on b.id = n.brand_id left join auth.users as u on u.id = n.user_id "
            "where (%(brand)s::uuid is null or n.brand_id = %(brand)s) and n.id > %(after)s "
            "order by n.id desc limit %(limit)s"
        )
        rows = conn.execute(query, {"brand": brand_id, "after": 0, "limit": count}).fetchall()
        last = 0
        for row in reversed(rows):
            click.echo(f"{row[0]}  {row[1]:%Y-%m-%d %H:%M:%S}  {row[2]}  {row[3]}  [{row[4]}] {row[5]}")
            last = max(last, row[0])
        while follow:
            try:
                import time

                time.sleep(1)
            except KeyboardInterrupt:
                return
            rows = conn.execute(query, {"brand": brand_id, "after": last, "limit": 1000}).fetchall()
            for row in reversed(rows):
                click.echo(f"{row[0]}  {row[1]:%Y-%m-%d %H:%M:%S}  {row[2]}  {row[3]}  [{row[4]}] {row[5]}")
                last = max(last, row[0])


@notify.command("prefs")
@click.argument("user")
@click.option("--brand", "brand_ref", required=True, help="Brand id or slug.")
@click.option("--json", "as_json", is_flag=True)
@dsn_option
@pass_ctx
def prefs_cmd(obj, user, brand_ref, as_json, dsn) -> None:
    """USER's effective preferences in a brand, and which layer decided each."""
    with connect(obj.dsn(dsn), autocommit=True) as conn:
        brand_id = _brand(conn, brand_ref)
        uid = _user(conn, user)
        rows = conn.execute(
            "select category, channel, enabled, digest, source "
            "from notify.effective(%s, array[%s]::uuid[]) order by 1, 2",
            (brand_id, uid),
        ).fetchall()
        settings = conn.execute(
            "select muted, time_zone, quiet_start, quiet_end, locale from notify.user_settings "
            "where user_id = %s",
            (uid,),
        ).fetchone()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "settings": settings
                    and dict(
                        zip(
                            ("muted", "time_zone", "quiet_start", "quiet_end", "locale"),
                            map(str, settings),
                            strict=True,
                        )
                    ),
                    "preferences": [
                        dict(zip(("category", "channel", "enabled", "digest", "source"), r, strict=True))
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return
    if settings:
        click.echo(
            f"muted={settings[0]} time_zone={settings[1]} quiet={settings[2]}-{settings[3]} "
            f"locale={settings[4]}"
        )
    for category, channel, enabled, digest, source in rows:
        click.echo(f"{category:24} {channel:10} {'on ' if enabled else 'off'} digest={digest:7} ({source})")


@notify.command("deliver")
@click.option("--concurrency", default=16, show_default=True, help="Emails in flight at once.")
@click.option("--drain", is_flag=True, help="Exit once no email is ready (tests, cron).")
@click.option("--poll", default=1.0, show_default=True)
@dsn_option
@pass_ctx
def deliver_cmd(obj, concurrency, drain, poll, dsn) -> None:
    """Send the outbox's emails (queue notify_email): SMTP or Resend, from the environment
    (BRANDBASE_SMTP_URL, BRANDBASE_EMAIL_FROM, RESEND_API_KEY; see docs/notify.md)."""
    from . import notify_email
    from .worker import Worker, WorkerError

    url = obj.dsn(dsn)
    handler = notify_email.make_handler(dsn=url, threads=concurrency)
    worker = Worker(
        url,
        {notify_email.QUEUE: handler},
        concurrency=concurrency,
        deliveries=0,
        poll=poll,
        drain=drain,
        housekeeping=False,
        log=lambda m: click.echo(m, err=True),
    )
    try:
        asyncio.run(worker.run())
    except WorkerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{handler.handler.sent} email(s) sent", err=True)


@click.command("realtime")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option(
    "--buffer", default=256, show_default=True, help="Events queued per client before it is dropped."
)
@click.option(
    "--allow-origin", default=None, help="CORS origin allowed to connect (e.g. https://app.example.com)."
)
@dsn_option
@pass_ctx
def realtime_cmd(obj, host, port, buffer, allow_origin, dsn) -> None:
    """Serve notifications over Server-Sent Events (GET /notifications/stream?brand=…),
    authenticated with the app's JWT (HS256 secret in BRANDBASE_JWT_SECRET or SUPABASE_JWT_SECRET)."""
    from .realtime import Server, jwt_secret

    secret = jwt_secret()
    if not secret:
        raise click.ClickException(
            "set BRANDBASE_JWT_SECRET (or SUPABASE_JWT_SECRET): the JWT secret the "
            "app's tokens are signed with"
        )
    server = Server(
        obj.dsn(dsn),
        secret,
        host=host,
        port=port,
        buffer=buffer,
        allow_origin=allow_origin,
        log=lambda m: click.echo(m, err=True),
    )
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        sys.exit(0)
