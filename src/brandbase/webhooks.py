"""Webhook delivery, the worker's second pipeline: claim due deliveries, sign them the
Standard Webhooks way, POST them over pooled keep-alive connections (timeouts, no
redirects; brandbase.http1), record every outcome in batches.

SSRF: every host is vetted by http1.GuardedResolver, which drops refused addresses
(loopback, private, link-local and metadata, CGNAT, reserved, multicast), and the
connection goes to an address it returned, so a name cannot be re-pointed between check
and connect. Addresses in webhooks.settings.allowed_networks are let through (loopback
sinks in tests and local development).
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from brandbase import http1

EXCERPT = 1024  # bytes of a response body kept per attempt
USER_AGENT = "brandbase-webhooks/1"
MAX_RETRY_AFTER = 86400.0  # seconds; webhooks.retry_delay caps it again at settings.max_retry_after


@functools.lru_cache(maxsize=4096)
def signing_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: one v1 HMAC-SHA256 per live secret, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(signing_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value.strip()[:12]), MAX_RETRY_AFTER)
    try:
        seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        return min(max(0.0, seconds), MAX_RETRY_AFTER)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass
class Delivery:
    brand_id: str
    delivery_id: int
    attempt: int
    url: str
    headers: dict
    secrets: list[str]
    message_id: str
    sent_at: int
    body: str
    timeout_ms: int
    lease_ms: int
    deadline: float = 0.0  # time.monotonic() by which the lease ends, at the earliest


def key(d: Delivery) -> tuple[str, int]:
    return (d.brand_id, d.delivery_id)


class Sender:
    """Claims, sends and records deliveries over one pooled HTTP client."""

    def __init__(self, worker_id: str, log, resolver: http1.Resolver | None = None):
        self.worker_id = worker_id
        self.sent = 0
        self.log = log
        self.inner_resolver = resolver
        self.allowed: list[http1.Network] | None = None
        self.client: http1.Client | None = None
        self.settings_read = 0.0
        self.lanes: list = []  # the delivery lanes; their prefetch follows lease and timeout

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc) -> None:
        if self.client:
            self.client.close()

    async def refresh(self, conn: psycopg.AsyncConnection) -> None:
        """Reads the allowed networks (every 10 s); a change gets a new client."""
        if time.monotonic() - self.settings_read < 10 and self.client:
            return
        self.settings_read = time.monotonic()
        row = await (await conn.execute(
            "select allowed_networks::text[], extract(epoch from lease)::float8, timeout_ms "
            "from webhooks.settings")).fetchone()
        allowed = [ipaddress.ip_network(n) for n in (row[0] if row else [])]
        if row:
            self.fit_prefetch(row[1], row[2] / 1000)
        if self.client and allowed == self.allowed:
            return
        if self.client:
            self.client.close()
        self.allowed = allowed
        self.client = http1.Client(http1.GuardedResolver(allowed, self.inner_resolver), USER_AGENT, EXCERPT)

    def fit_prefetch(self, lease: float, timeout: float) -> None:
        """A prefetched delivery waits up to one timeout for its slot while its lease runs:
        prefetch only when the lease covers that wait, the send and a margin."""
        for lane in self.lanes:
            lane.prefetch = lane.slots if lease >= 2 * timeout + 1 else 0

    async def exchange(self, conn: psycopg.AsyncConnection, outcomes: list, room: int,
                       ready: int | None = None) -> list[Delivery]:
        await self.refresh(conn)
        before = time.monotonic()  # the claim's transaction (and its lease) starts after this
        settled = [o for o in outcomes if o[0] != "release"]
        released = [o[1] for o in outcomes if o[0] == "release"]
        async with conn.transaction():
            if settled:
                await conn.execute("select webhooks.record(%s, %s)",
                                   (self.worker_id, Jsonb([o for _, o in settled])))
                self.sent += len(settled)
            if released:
                await conn.execute("select webhooks.release(%s, %s::uuid[], %s)", (
                    self.worker_id, [b for b, _ in released], [i for _, i in released]))
            if room <= 0:
                return []
            rows = await (await conn.execute(
                "select brand_id::text, delivery_id, attempt, url, headers, secrets, message_id, "
                "sent_at, body, timeout_ms, lease_ms from webhooks.claim(%s, %s, %s)",
                (self.worker_id, room, ready))).fetchall()
        claimed = [Delivery(*row) for row in rows]
        for d in claimed:
            d.deadline = before + d.lease_ms / 1000
        return claimed

    async def drained(self, conn: psycopg.AsyncConnection) -> bool:
        """For --drain: nothing due and nothing leased, by any worker. Leases of a worker
        that died are reaped when they expire and sent then, so draining waits for them
        instead of exiting with deliveries still held by the dead."""
        row = await (await conn.execute(
            "select not exists (select from webhooks.deliveries where status = 'pending' "
            "and locked_until is not null) and not exists (select from webhooks.deliveries "
            "where status = 'pending' and locked_until is null and next_attempt_at <= now())")).fetchone()
        return bool(row[0])

    @staticmethod
    def late(d: Delivery) -> bool:
        """Whether a send starting now could outlast the lease (another worker could then
        send it too): the whole timeout and a margin must fit before the deadline."""
        margin = min(0.5, (d.lease_ms - d.timeout_ms) / 4000)
        return time.monotonic() + d.timeout_ms / 1000 + margin > d.deadline

    async def perform(self, d: Delivery) -> tuple[str, dict]:
        """Sends one delivery; every way it can go is an outcome, never an exception."""
        if self.late(d):
            return ("release", key(d))  # waited too long for a slot: back uncounted, unsent
        outcome = {"brand_id": d.brand_id, "delivery_id": d.delivery_id}
        timestamp = int(time.time())
        body = d.body.encode()
        headers = {"Content-Type": "application/json",
                   "webhook-id": d.message_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(d.secrets, d.message_id, timestamp, body)}
        custom = {str(k): str(v) for k, v in d.headers.items()}
        started = time.perf_counter()
        try:
            r = await self.client.post(d.url, headers, body, d.timeout_ms / 1000, custom)
            outcome.update(status_code=r.status, excerpt=r.excerpt.decode("utf-8", "replace"))
            if r.status in (429, 503):
                outcome["retry_after"] = retry_after(r.headers.get("retry-after"))
        except TimeoutError:
            outcome["error"] = f"timed out after {d.timeout_ms} ms"
        except (OSError, ValueError) as exc:  # connection errors, refused addresses, bad URLs
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:1024]
        outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return ("sent", outcome)
