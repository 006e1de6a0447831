"""Module notify, email: digests and single emails gathered in SQL, rendered with Jinja2
and handed to a real local SMTP server (aiosmtpd) or to an HTTP server speaking Resend's
request shape. Faults: SMTP 5xx, a server that times out, a server down for a while, a
worker SIGKILLed mid-digest; each retried with backoff, none lost, none sent twice after
acceptance. Unsubscribe links update the preference."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from psycopg.types.json import Jsonb
from tests.helpers import ROOT, scalar

from brandbase import notify_email
from brandbase.worker import Worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """aiosmtpd handler: keeps what it accepted; can refuse, stall or call back."""

    def __init__(self):
        self.accepted: list[email.message.Message] = []
        self.refuse = 0
        self.stall = 0.0
        self.on_data = None
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.stall:
            await asyncio.sleep(self.stall)
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.on_data and (answer := self.on_data(self)):
            return answer
        if self.refuse > 0:
            self.refuse -= 1
            return "554 5.7.1 refused by the test"
        with self.lock:
            self.accepted.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 OK"

    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.accepted]


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


def setup(dsn: str, digest: str | None = "daily") -> dict:
    """Brands acme and bolt; category comments mails by default; fast retries."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select tests.seed_two_brands()")
        conn.execute(
            "select notify.register_category('comments', 'New comments', false, "
            '\'{"in_app": true, "email": true}\')'
        )
        conn.execute(
            "update jobs.queues set backoff_base = '50 ms', backoff_max = '100 ms', lease = '1 second' "
            "where name = 'notify_email'"
        )
        ids = {"acme": conn.execute("select tests.brand('acme')::text").fetchone()[0]}
        for h in ("viewer@acme", "member@acme", "editor@acme"):
            ids[h] = conn.execute("select tests.uid(%s)::text", (h,)).fetchone()[0]
        if digest:
            conn.execute(
                "insert into notify.brand_channels (brand_id, channel, digest) values (%s, 'email', %s)",
                (ids["acme"], digest),
            )
    return ids


def send(dsn, brand, users, title, body=None, category="comments"):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "select notify.send(%s, %s, %s, %s, %s)", (brand, Jsonb(users), category, title, body)
        ).fetchone()[0]


def gather(dsn, later: str = "1 day 1 minute") -> int:
    return scalar(dsn, f"select notify.gather_due(now() + interval '{later}')")


def deliver(dsn: str, port: int | None = None, provider=None, threads: int = 4) -> int:
    """One drain of the notify_email queue by an in-process worker; returns emails sent."""
    provider = provider or notify_email.SmtpProvider(port=port, timeout=0.5)
    handler = notify_email.make_handler(
        dsn=dsn, provider=provider, sender="app@example.test", threads=threads
    )
    worker = Worker(
        dsn,
        {notify_email.QUEUE: handler},
        concurrency=threads,
        deliveries=0,
        poll=0.05,
        drain=True,
        housekeeping=False,
        log=lambda m: None,
    )
    asyncio.run(worker.run())
    return handler.handler.sent


def deliver_until(
    dsn: str, done_query: str, port: int | None = None, provider=None, timeout: float = 30.0, between=None
) -> None:
    deadline = time.monotonic() + timeout
    while not scalar(dsn, done_query):
        if time.monotonic() > deadline:
            pytest.fail(f"not delivered in {timeout} s: {done_query}")
        if between:
            between()
        deliver(dsn, port, provider)
        time.sleep(0.1)


def test_a_daily_digest_is_one_email_of_every_pending_item_rendered_safely(owner_dsn, smtp):
    sink, port = smtp
    ids = setup(owner_dsn)
    for title in ("First <b>comment</b>", "Second", "Third"):
        send(owner_dsn, ids["acme"], [ids["member@acme"]], title, body="<script>alert(1)</script>")
    assert gather(owner_dsn, "1 hour") == 0, "a daily digest waits a day"
    assert gather(owner_dsn) == 1
    assert gather(owner_dsn) == 0, "and takes each notification once"
    assert deliver(owner_dsn, port) == 1
    [msg] = sink.accepted
    assert msg["To"] == "member@acme.test" and msg["From"] == "app@example.test"
    assert msg["Subject"] == "3 new notifications from Acme"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "First <b>comment</b>" in text and "Third" in text
    assert "First &lt;b&gt;comment&lt;/b&gt;" in html and "<script>" not in html, "HTML is autoescaped"
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8787/unsubscribe?token=")
    row = (
        psycopg.connect(owner_dsn, autocommit=True)
        .execute(
            "select status, accepted_at is not null, provider_message_id, cardinality(notification_ids) "
            "from notify.emails"
        )
        .fetchone()
    )
    assert row == ("sent", True, msg["Message-ID"], 3)

    # the unsubscribe link, followed anonymously, switches email off in that brand
    token = msg["List-Unsubscribe"].split("token=")[1].rstrip(">")
    with psycopg.connect(owner_dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("select tests.authenticate_as_role('anon')")
        assert conn.execute("select api.unsubscribe(%s)", (token,)).fetchone()[0] is True
        with pytest.raises(psycopg.errors.InvalidParameterValue), conn.transaction():
            conn.execute("select api.unsubscribe(%s)", (token[:-1] + ("0" if token[-1] != "0" else "1"),))
    send(owner_dsn, ids["acme"], [ids["member@acme"]], "after unsubscribing")
    assert (
        scalar(owner_dsn, "select email from notify.notifications where title = 'after unsubscribing'")
        is None
    )


def test_single_emails_use_the_brands_template_in_the_users_locale(owner_dsn, smtp):
    sink, port = smtp
    ids = setup(owner_dsn, digest=None)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(
            "insert into notify.user_settings (user_id, locale) values (%s, 'de-AT')", (ids["viewer@acme"],)
        )
        conn.execute(
            "insert into notify.templates values (%s, 'comments', 'de', 'Neu: {{ item.title }}', "
            "'Hallo {{ item.title }}', '<p>Hallo {{ item.title }}</p>')",
            (ids["acme"],),
        )
    send(owner_dsn, ids["acme"], [ids["viewer@acme"], ids["member@acme"]], "Tom & Jerry")
    assert gather(owner_dsn, "0 seconds") == 2
    assert deliver(owner_dsn, port) == 2
    by_to = {m["To"]: m for m in sink.accepted}
    de = by_to["viewer@acme.test"]
    assert de["Subject"] == "Neu: Tom & Jerry"
    assert de.get_body(("html",)).get_content().strip() == "<p>Hallo Tom &amp; Jerry</p>"
    assert by_to["member@acme.test"]["Subject"] == "Tom & Jerry", "no template for en: the built-in one"


def test_smtp_5xx_is_retried_with_backoff_and_sent_once(owner_dsn, smtp):
    sink, port = smtp
    ids = setup(owner_dsn, digest=None)
    sink.refuse = 2
    send(owner_dsn, ids["acme"], [ids["viewer@acme"]], "refused twice")
    gather(owner_dsn, "0 seconds")
    deliver_until(owner_dsn, "select bool_and(status = 'sent') from notify.emails", port)
    assert len(sink.accepted) == 1
    assert scalar(owner_dsn, "select attempts from notify.emails") == 3
    assert scalar(owner_dsn, "select count(*) from jobs.job_queue where queue = 'notify_email'") == 0


def test_a_server_that_times_out_then_answers_gets_the_email_once(owner_dsn, smtp):
    sink, port = smtp
    ids = setup(owner_dsn, digest=None)
    sink.stall = 2.0  # longer than the provider's 0.5 s timeout
    send(owner_dsn, ids["acme"], [ids["viewer@acme"]], "slow server")
    gather(owner_dsn, "0 seconds")
    deliver(owner_dsn, port)
    assert (
        scalar(owner_dsn, "select status || ' ' || (last_error like '%%timed out%%') from notify.emails")
        == "failed true"
    )
    sink.stall = 0
    deliver_until(owner_dsn, "select bool_and(status = 'sent') from notify.emails", port)
    assert len(sink.accepted) == 1


def test_a_server_down_for_a_while_loses_nothing(owner_dsn):
    ids = setup(owner_dsn, digest=None)
    port = free_port()
    send(owner_dsn, ids["acme"], [ids["viewer@acme"], ids["member@acme"], ids["editor@acme"]], "while down")
    gather(owner_dsn, "0 seconds")
    for _ in range(3):
        deliver(owner_dsn, port)
        time.sleep(0.15)
    assert scalar(owner_dsn, "select count(*) filter (where status = 'failed') from notify.emails") == 3
    assert scalar(owner_dsn, "select min(attempts) from notify.emails") >= 2
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        deliver_until(owner_dsn, "select bool_and(status = 'sent') from notify.emails", port)
        assert sorted(m["To"] for m in sink.accepted) == [
            "editor@acme.test",
            "member@acme.test",
            "viewer@acme.test",
        ]
    finally:
        controller.stop()


def test_a_worker_killed_mid_digest_resends_nothing_already_accepted(owner_dsn, smtp):
    sink, port = smtp
    ids = setup(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        users = [
            conn.execute("select tests.create_user(%s)::text", (f"u{i}@acme.test",)).fetchone()[0]
            for i in range(12)
        ]
        for u in users:
            conn.execute("select tests.add_member(%s, %s, 'viewer')", (ids["acme"], u))
    for i in range(3):
        send(owner_dsn, ids["acme"], users, f"digest item {i}")
    assert gather(owner_dsn) == 12
    env = {
        **os.environ,
        "BRANDBASE_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "BRANDBASE_EMAIL_FROM": "app@example.test",
        "BRANDBASE_SMTP_TIMEOUT": "5",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brandbase.cli",
            "notify",
            "deliver",
            "--dsn",
            owner_dsn,
            "--concurrency",
            "1",
            "--poll",
            "0.05",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def kill_after_five(s: Sink):
        if len(s.accepted) == 5:  # the sixth message's DATA: the worker dies before any answer
            os.kill(proc.pid, signal.SIGKILL)
            return "451 4.3.0 the test killed the sender"
        return None

    sink.on_data = kill_after_five
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    assert len(sink.accepted) == 5
    assert scalar(owner_dsn, "select count(*) from notify.emails where status = 'sent'") == 5
    sink.on_data = None
    time.sleep(1.2)  # the killed worker's lease (1 s) runs out
    deliver_until(
        owner_dsn,
        "select bool_and(status = 'sent') from notify.emails",
        port,
        between=lambda: scalar(owner_dsn, "select jobs.reap()"),
    )
    ids_sent = sink.ids()
    assert len(ids_sent) == 12 and len(set(ids_sent)) == 12, "every digest once, none twice"
    assert sorted(m["To"] for m in sink.accepted) == sorted(f"u{i}@acme.test" for i in range(12))


def test_a_retried_job_of_an_accepted_email_sends_nothing(owner_dsn, smtp):
    """The crash window after acceptance: the row says sent, so the retried job returns."""
    sink, port = smtp
    ids = setup(owner_dsn, digest=None)
    send(owner_dsn, ids["acme"], [ids["viewer@acme"]], "once")
    gather(owner_dsn, "0 seconds")
    assert deliver(owner_dsn, port) == 1
    with psycopg.connect(owner_dsn, autocommit=True) as conn:  # as if the job had never been completed
        conn.execute(
            "select jobs.enqueue('notify_email', jsonb_build_object('email_id', id), brand_id) "
            "from notify.emails"
        )
    assert deliver(owner_dsn, port) == 0
    assert len(sink.accepted) == 1


def test_resend_provider_sends_the_request_shape_with_an_idempotency_key(owner_dsn):
    ids = setup(owner_dsn, digest=None)
    seen = []

    async def emails(request: web.Request):
        seen.append((dict(request.headers), await request.json()))
        if len(seen) == 1:
            return web.json_response({"name": "internal_server_error"}, status=500)
        return web.json_response({"id": "re_test_123"})

    started = threading.Event()
    state = {}

    def serve():
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/emails", emails)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        state["port"] = site._server.sockets[0].getsockname()[1]
        state["loop"] = loop
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        provider = notify_email.ResendProvider(
            "re_key_for_tests", f"http://127.0.0.1:{state['port']}", timeout=5
        )
        send(owner_dsn, ids["acme"], [ids["viewer@acme"]], "via resend", body="hello")
        gather(owner_dsn, "0 seconds")
        deliver_until(owner_dsn, "select bool_and(status = 'sent') from notify.emails", provider=provider)
    finally:
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(10)
    assert len(seen) == 2, "the 500 was retried"
    (h1, b1), (h2, b2) = seen
    assert h1["Authorization"] == "Bearer re_key_for_tests" and h1["Content-Type"] == "application/json"
    assert h1["Idempotency-Key"] == h2["Idempotency-Key"], "a retry carries the same idempotency key"
    assert b2["to"] == ["viewer@acme.test"] and b2["subject"] == "via resend"
    assert "hello" in b2["text"] and "hello" in b2["html"] and b2["headers"]["Message-ID"]
    assert scalar(owner_dsn, "select provider_message_id from notify.emails") == "re_test_123"
    assert json.dumps(b2)  # JSON body as Resend expects it


def test_a_batch_with_one_refused_email_sends_the_others_once_and_retries_only_that_one(owner_dsn, smtp):
    """gather_due puts a brand's emails in jobs of up to 50: one refused email fails the job
    after the others went out; the retried job sends only the refused one."""
    sink, port = smtp
    ids = setup(owner_dsn, digest=None)
    users = [ids["viewer@acme"], ids["member@acme"], ids["editor@acme"]]
    send(owner_dsn, ids["acme"], users, "batch")
    assert gather(owner_dsn, "0 seconds") == 3
    payloads = [
        r[0] for r in psycopg.connect(owner_dsn, autocommit=True).execute(
            "select payload from jobs.job_queue where queue = 'notify_email'"
        ).fetchall()
    ]
    assert len(payloads) == 1 and len(payloads[0]["email_ids"]) == 3, "one job for the batch"
    refused = []

    def refuse_the_members_first_try(s: Sink):
        if not refused and any("member" in r for r in s.envelope_rcpts):
            refused.append(1)
            return "554 5.7.1 refused by the test"
        return None

    sink.on_data = lambda s: None
    # aiosmtpd hands the envelope to handle_DATA; keep its recipients for the callback
    original = sink.handle_DATA

    async def handle_data(server, session, envelope):
        sink.envelope_rcpts = envelope.rcpt_tos
        return await original(server, session, envelope)

    sink.handle_DATA = handle_data
    sink.on_data = refuse_the_members_first_try
    deliver_until(owner_dsn, "select bool_and(status = 'sent') from notify.emails", port)
    assert refused == [1]
    assert len(sink.ids()) == 3 and len(set(sink.ids())) == 3, "each email once"
    assert scalar(owner_dsn, "select max(attempts) from notify.emails") == 2
    assert scalar(owner_dsn, "select min(attempts) from notify.emails") == 1


def test_a_header_with_a_line_break_is_refused():
    ctx = {
        "kind": "single", "to": "victim@example.test\r\nBcc: all@example.test", "idempotency_key": "k",
        "items": [{"category": "c", "title": "t", "body": None, "action_url": None, "unsubscribe": "x"}],
        "brand_name": "B", "unsubscribe_url": "", "unsubscribe_all": "y",
    }
    with pytest.raises(notify_email.EmailError):
        notify_email.build_message(ctx, "app@example.test")
