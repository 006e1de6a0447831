"""Email delivery for module notify: the handler of jobs queue ``notify_email``.

``notify.gather_due()`` (every minute) turns due notifications into rows of the outbox
``notify.emails`` and enqueues them in jobs of up to 50. This handler, run by ``brandbase
worker`` (``--handlers brandbase.notify_email:HANDLERS``) or by ``brandbase notify
deliver``, renders each email with Jinja2 (the brand's templates per category and locale,
else the built-in ones; a sandbox; HTML autoescaped) and hands it to a provider:

    smtp    smtplib, one kept-alive connection per sending thread (BRANDBASE_SMTP_URL,
            smtp://user:password@host:port, ?starttls=1; BRANDBASE_SMTP_TIMEOUT seconds)
    resend  Resend's HTTP API, POST /emails with the Idempotency-Key header
            (RESEND_API_KEY; BRANDBASE_RESEND_URL to point it elsewhere)

Jobs carry batches of up to 50 emails; a batch's emails go out side by side over
``threads`` connections to the provider. At most once after acceptance: before each
attempt the row is marked (``email_sending`` returns its earlier status: a row already
``sent`` is never sent again), and the moment the provider accepts, ``email_accepted``
commits ``sent`` on its own (an asynchronous commit: see ``EmailHandler._conn``). A job retried after
a crash (its lease ran out) finds the row sent and returns. What remains is the instant
between the provider's acceptance and that commit: Resend deduplicates it by the
idempotency key; over SMTP the Message-ID (the same key) lets the receiving side do so.
Any failure (4xx, 5xx, timeout, refused connection) fails the job, which jobs retries
with exponential backoff (12 attempts, 5 s doubling to 1 h); a dead job stays in
``jobs.job_history`` and ``jobs.retry`` sends it again: nothing is lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.policy
import functools
import json
import os
import smtplib
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.header import Header, decode_header, make_header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jinja2
import psycopg
from jinja2.sandbox import SandboxedEnvironment

QUEUE = "notify_email"


class EmailError(Exception):
    """The provider did not accept the email (the job is retried)."""


# ---------------------------------------------------------------------------------------
# Templates

BUILTIN = {
    "single": {
        "subject": "{{ item.title }}",
        "text": (
            "{{ item.title }}\n\n{% if item.body %}{{ item.body }}\n\n{% endif %}"
            "{% if item.action_url %}{{ item.action_url }}\n\n{% endif %}"
            "--\n{{ brand_name }} - unsubscribe: {{ unsubscribe_link(item.unsubscribe) }}\n"
        ),
        "html": (
            "<h1>{{ item.title }}</h1>{% if item.body %}<p>{{ item.body }}</p>{% endif %}"
            '{% if item.action_url %}<p><a href="{{ item.action_url }}">Open</a></p>{% endif %}'
            '<hr><p><small>{{ brand_name }} - <a href="{{ unsubscribe_link(item.unsubscribe) }}">'
            "unsubscribe</a></small></p>"
        ),
    },
    "digest": {
        "subject": (
            "{{ items | length }} new notification{{ 's' if items | length != 1 }} from {{ brand_name }}"
        ),
        "text": (
            "Your {{ frequency }} digest from {{ brand_name }}\n\n"
            "{% for item in items %}- {{ item.title }}{% if item.body %}: {{ item.body }}{% endif %}\n"
            "{% endfor %}\n--\nunsubscribe from all: {{ unsubscribe_link(unsubscribe_all) }}\n"
        ),
        "html": (
            "<h1>Your {{ frequency }} digest from {{ brand_name }}</h1><ul>"
            "{% for item in items %}<li><strong>{{ item.title }}</strong>"
            "{% if item.body %} {{ item.body }}{% endif %}</li>{% endfor %}</ul>"
            '<hr><p><small><a href="{{ unsubscribe_link(unsubscribe_all) }}">unsubscribe</a>'
            "</small></p>"
        ),
    },
}

_TEXT = SandboxedEnvironment(autoescape=False, undefined=jinja2.ChainableUndefined)
_HTML = SandboxedEnvironment(autoescape=True, undefined=jinja2.ChainableUndefined)


@functools.lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> jinja2.Template:
    return (_HTML if html else _TEXT).from_string(source)


def pick_template(ctx: dict) -> dict:
    """The brand's template for the email's category (a digest: '*') and the user's locale,
    falling back to its language, then to '*' and English, then the built-in one."""
    kind = ctx["kind"]
    category = ctx["items"][0]["category"] if kind == "single" and ctx["items"] else "*"
    locale = ctx.get("locale") or "en"
    language = locale.split("-")[0]
    by_key = {(t["category"], t["locale"]): t for t in ctx.get("templates") or []}
    for key in (
        (category, locale),
        (category, language),
        ("*", locale),
        ("*", language),
        (category, "en"),
        ("*", "en"),
    ):
        if key in by_key:
            return by_key[key]
    return BUILTIN[kind]


def render(ctx: dict) -> tuple[str, str, str]:
    """(subject, text, html) of an email context from notify.email_for_send()."""
    template = pick_template(ctx)
    base = ctx.get("unsubscribe_url") or ""

    def unsubscribe_link(token: str | None) -> str:
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}{urlencode({'token': token or ''})}"

    values = {**ctx, "item": ctx["items"][0] if ctx["items"] else {}, "unsubscribe_link": unsubscribe_link}
    subject = _compiled(False, template["subject"]).render(values)
    subject = " ".join(subject.split())[:250]  # one line: a template cannot inject headers
    return (
        subject,
        _compiled(False, template["text"]).render(values),
        _compiled(True, template["html"]).render(values),
    )


# compat32 without folding: a long header (the unsubscribe link is one ~200-character token)
# stays on its line, as EmailMessage wrote it (RFC 5322 allows 998 characters)
UNFOLDED = email.policy.compat32.clone(max_line_length=0)


def _header(value: str) -> str | Header:
    if "\r" in value or "\n" in value:
        raise EmailError("a header value holds a line break")  # no header injection
    return value if value.isascii() else Header(value, "utf-8")


def build_message(ctx: dict, sender: str) -> Message:
    """The email as multipart/alternative (plain text, HTML; UTF-8), built with the email
    package's MIME classes: a fifth of the cost of EmailMessage.set_content, which spent
    most of a digest's time in header policy machinery."""
    subject, text, html = render(ctx)
    msg = MIMEMultipart("alternative", policy=UNFOLDED)
    msg["From"] = _header(sender)
    msg["To"] = _header(ctx["to"])
    msg["Subject"] = _header(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _header(f"<{ctx['idempotency_key']}@brandbase>")
    base = ctx.get("unsubscribe_url") or ""
    if base:
        sep = "&" if "?" in base else "?"
        msg["List-Unsubscribe"] = _header(f"<{base}{sep}{urlencode({'token': ctx['unsubscribe_all']})}>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.attach(MIMEText(text, "plain", "utf-8"))
    msg.attach(MIMEText(html, "html", "utf-8"))
    return msg


def body_of(msg: Message, subtype: str) -> str:
    """The decoded text of the message's text/<subtype> part."""
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


# ---------------------------------------------------------------------------------------
# Providers


@dataclass
class SmtpProvider:
    """smtplib over one kept-alive connection per thread."""

    host: str = "127.0.0.1"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    local: threading.local = field(default_factory=threading.local)

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SmtpProvider:
        u = urlsplit(url)
        q = parse_qs(u.query)
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or 25,
            user=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            starttls=q.get("starttls", ["0"])[0] in ("1", "true"),
            timeout=timeout,
        )

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            smtp.starttls()
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp

    def _drop(self) -> None:
        smtp = getattr(self.local, "smtp", None)
        self.local.smtp = None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def send(self, msg: Message, idempotency_key: str) -> str:
        for attempt in (1, 2):
            smtp = getattr(self.local, "smtp", None)
            try:
                if smtp is None:
                    smtp = self.local.smtp = self._connect()
                refused = smtp.send_message(msg)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise EmailError(f"smtp: disconnected: {exc}") from None
                continue  # a kept-alive connection the server closed: once more, fresh
            except smtplib.SMTPResponseException as exc:
                self._reset(smtp)
                raise EmailError(f"smtp {exc.smtp_code}: {exc.smtp_error!r}") from None
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset(smtp)
                raise EmailError(f"smtp: recipients refused: {exc.recipients}") from None
            except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, reset
                self._drop()
                raise EmailError(f"smtp: {type(exc).__name__}: {exc}") from None
            if refused:
                raise EmailError(f"smtp: recipients refused: {refused}")
            return msg["Message-ID"]
        raise EmailError("smtp: unreachable")  # pragma: no cover

    def _reset(self, smtp) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()


@dataclass
class ResendProvider:
    """Resend's HTTP API: POST /emails, JSON, Bearer key, Idempotency-Key (24 h dedupe)."""

    api_key: str
    base_url: str = "https://api.resend.com"
    timeout: float = 30.0

    def send(self, msg: Message, idempotency_key: str) -> str:
        text = body_of(msg, "plain")
        html = body_of(msg, "html")
        body = {
            "from": str(make_header(decode_header(msg["From"]))),
            "to": [str(make_header(decode_header(msg["To"])))],
            "subject": str(make_header(decode_header(msg["Subject"]))),
            "text": text,
            "html": html,
            "headers": {
                k: msg[k] for k in ("Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post") if msg[k]
            },
        }
        request = urllib.request.Request(
            self.base_url.rstrip("/") + "/emails",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                "User-Agent": "brandbase",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the configured API
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise EmailError(f"resend {exc.code}: {exc.read()[:300]!r}") from None
        except (OSError, ValueError) as exc:
            raise EmailError(f"resend: {type(exc).__name__}: {exc}") from None
        return str(answer.get("id") or idempotency_key)


def provider_from_env() -> SmtpProvider | ResendProvider:
    kind = os.environ.get("BRANDBASE_EMAIL_PROVIDER") or (
        "resend" if os.environ.get("RESEND_API_KEY") else "smtp"
    )
    timeout = float(os.environ.get("BRANDBASE_SMTP_TIMEOUT", "30"))
    if kind == "resend":
        key = os.environ.get("RESEND_API_KEY")
        if not key:
            raise EmailError("BRANDBASE_EMAIL_PROVIDER=resend needs RESEND_API_KEY")
        return ResendProvider(key, os.environ.get("BRANDBASE_RESEND_URL", "https://api.resend.com"), timeout)
    return SmtpProvider.from_url(os.environ.get("BRANDBASE_SMTP_URL", "smtp://127.0.0.1:25"), timeout)


# ---------------------------------------------------------------------------------------
# The handler


@dataclass
class EmailHandler:
    """The notify_email job handler. A job carries a batch of emails (``{"email_ids": [...]}``,
    up to 50, as notify.gather_due enqueues them) or one (``{"email_id": id}``). One round
    trip records the attempt of every email of the batch and returns what to render
    (``notify.email_begin_many``); the emails then go out side by side in a pool of sending
    threads, each with its own database connection and, over SMTP, its own kept-alive SMTP
    session; each acceptance is recorded at once (``email_accepted``) by the thread that
    sent it. An email that failed fails the job after the others went out: the retried
    job sends only what is not ``sent``."""

    dsn: str | None = None
    provider: Any = None
    sender: str | None = None
    threads: int = 8

    def __post_init__(self):
        self.local = threading.local()
        self.pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="notify-email")
        self.sent = 0
        self.count_lock = threading.Lock()

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            dsn = self.dsn or os.environ.get("BRANDBASE_NOTIFY_DSN") or os.environ.get("DATABASE_URL")
            if not dsn:
                raise EmailError("no database: set DATABASE_URL (or BRANDBASE_NOTIFY_DSN)")
            conn = self.local.conn = psycopg.connect(dsn, autocommit=True)
            # Every statement of this connection records an attempt or an outcome: its commit
            # need not wait for the disk. A killed worker loses nothing by it (the commit is
            # done and visible in the server the moment the statement returns); only a crash
            # of the database server itself could forget the last fraction of a second of
            # "sent" marks, and such an email is then sent once more with the same Message-ID
            # / Idempotency-Key, which the receiving side (Resend: by the key) deduplicates.
            conn.execute("set synchronous_commit = off")
        return conn

    def _setup(self) -> str:
        if self.provider is None:
            self.provider = provider_from_env()
        return self.sender or os.environ.get("BRANDBASE_EMAIL_FROM", "notifications@localhost")

    def begin(self, brand_id: str, email_ids: list[int]) -> list[dict | None]:
        """Records an attempt of each email; their contexts (None: no such email)."""
        return self._conn().execute(
            "select notify.email_begin_many(%s, %s)", (brand_id, email_ids)
        ).fetchone()[0]

    def send_one(self, brand_id: str, ctx: dict, sender: str) -> tuple[str, str]:
        """Renders and hands one email to the provider; records the outcome at once."""
        conn = self._conn()
        email_id = ctx["id"]
        try:
            msg = build_message(ctx, sender)
            provider_id = self.provider.send(msg, ctx["idempotency_key"])
        except (EmailError, jinja2.TemplateError) as exc:
            conn.execute("select notify.email_failed(%s, %s, %s)", (brand_id, email_id, str(exc)))
            return ("failed", str(exc))
        conn.execute("select notify.email_accepted(%s, %s, %s)", (brand_id, email_id, provider_id))
        with self.count_lock:
            self.sent += 1
        return ("sent", provider_id)

    def deliver(self, brand_id: str, email_id: int) -> dict:
        """One email, in the calling thread (operators' tools and tests)."""
        sender = self._setup()
        [ctx] = self.begin(brand_id, [email_id])
        if ctx is None or ctx.get("status_before") is None:
            return {"skipped": "no such email"}
        if ctx["status_before"] == "sent":
            return {"skipped": "already sent"}  # accepted before a crash: never twice
        outcome, detail = self.send_one(brand_id, ctx, sender)
        if outcome == "failed":
            raise EmailError(detail)
        return {"sent": detail}

    async def __call__(self, job) -> dict:
        payload = job.payload
        single = "email_ids" not in payload
        email_ids = [int(payload["email_id"])] if single else [int(i) for i in payload["email_ids"]]
        loop = asyncio.get_running_loop()
        sender = self._setup()
        contexts = await loop.run_in_executor(self.pool, self.begin, job.brand_id, email_ids)
        todo = [c for c in contexts if c is not None and c.get("status_before") not in (None, "sent")]
        skipped = len(email_ids) - len(todo)  # accepted before a crash (or gone): never twice
        outcomes = await asyncio.gather(
            *(loop.run_in_executor(self.pool, self.send_one, job.brand_id, ctx, sender) for ctx in todo)
        )
        failed = [detail for outcome, detail in outcomes if outcome == "failed"]
        if failed:  # the job is retried with backoff; what went out is sent and is skipped then
            raise EmailError(f"{len(failed)} of {len(todo)} emails failed, e.g. {failed[0]}")
        if single:
            return {"sent": outcomes[0][1]} if outcomes else {"skipped": "already sent or gone"}
        return {"sent": len(outcomes), "skipped": skipped}


def make_handler(**options):
    """The handler as the worker wants it: an async function (the worker awaits it in its
    loop), with the EmailHandler behind it as .handler."""
    handler = EmailHandler(**options)

    async def notify_email(job) -> dict:
        return await handler(job)

    notify_email.handler = handler
    return notify_email


HANDLERS = {QUEUE: make_handler()}
