"""Webhook delivery, the worker's second pipeline: claim due deliveries, sign them the
Standard Webhooks way, POST them with one pooled aiohttp session (timeouts, no redirects),
record every outcome in batches.

SSRF: every host name is resolved by a guard that drops refused addresses (loopback,
private, link-local and metadata, CGNAT, reserved, multicast) and the connection goes to
an address the guard returned, so a name cannot be re-pointed between check and connect.
Addresses in webhooks.settings.allowed_networks are let through (loopback sinks in tests
and local development).
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass

import aiohttp
import psycopg
from aiohttp.abc import AbstractResolver
from psycopg.types.json import Jsonb
from yarl import URL

EXCERPT = 1024  # bytes of a response body kept per attempt
USER_AGENT = "brandbase-webhooks/1"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(OSError):
    """The target resolves only to addresses deliveries may not reach."""


@functools.lru_cache(maxsize=4096)
def refused(address: str, allowed: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return False
    return not ip.is_global or ip.is_multicast


class GuardedResolver(AbstractResolver):
    """Resolves with `inner`, keeps only addresses deliveries may reach."""

    def __init__(self, allowed: list[Network], inner: AbstractResolver | None = None):
        self.allowed = tuple(allowed)
        self.inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        found = await self.inner.resolve(host, port, family)
        safe = [a for a in found if not refused(a["host"], self.allowed)]
        if not safe:
            raise RefusedAddress(f"{host} resolves only to refused addresses "
                                 f"({', '.join(sorted({a['host'] for a in found}))})")
        return safe

    async def close(self) -> None:
        await self.inner.close()


@functools.lru_cache(maxsize=4096)
def literal_refused(host: str, allowed: tuple[Network, ...]) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: the resolver's guard decides
    return refused(host.strip("[]"), allowed)


def check_literal(host: str, allowed: list[Network]) -> None:
    """aiohttp connects to IP literals without asking the resolver: check them here."""
    if literal_refused(host, tuple(allowed)):
        raise RefusedAddress(f"{host} is a refused address")


def refusal(exc: BaseException) -> RefusedAddress | None:
    """The guard's refusal behind an aiohttp connection error, if that is what it was."""
    seen = exc
    while seen is not None:
        if isinstance(seen, RefusedAddress):
            return seen
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
        if seen is exc:
            return None
    return None


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
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
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


def key(d: Delivery) -> tuple[str, int]:
    return (d.brand_id, d.delivery_id)


class Sender:
    """Claims, sends and records deliveries; an async context manager around its session."""

    def __init__(self, worker_id: str, log, resolver: AbstractResolver | None = None):
        self.worker_id = worker_id
        self.sent = 0
        self.log = log
        self.inner_resolver = resolver
        self.allowed: list[Network] = []
        self.session: aiohttp.ClientSession | None = None
        self.settings_read = 0.0

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc) -> None:
        if self.session:
            await self.session.close()

    async def refresh(self, conn: psycopg.AsyncConnection) -> None:
        """Reads the allowed networks (every 10 s); a change gets a new session."""
        if time.monotonic() - self.settings_read < 10 and self.session:
            return
        self.settings_read = time.monotonic()
        row = await (await conn.execute(
            "select allowed_networks::text[] from webhooks.settings")).fetchone()
        allowed = [ipaddress.ip_network(n) for n in (row[0] if row else [])]
        if self.session and allowed == self.allowed:
            return
        if self.session:
            await self.session.close()
        self.allowed = allowed
        connector = aiohttp.TCPConnector(
            limit=0, resolver=GuardedResolver(allowed, self.inner_resolver), ttl_dns_cache=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                             headers={"User-Agent": USER_AGENT})

    async def exchange(self, conn: psycopg.AsyncConnection, outcomes: list, room: int) -> list[Delivery]:
        await self.refresh(conn)
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
                "sent_at, body, timeout_ms from webhooks.claim(%s, %s)", (self.worker_id, room))).fetchall()
        return [Delivery(*row) for row in rows]

    async def perform(self, d: Delivery) -> tuple[str, dict]:
        """Sends one delivery; every way it can go is an outcome, never an exception."""
        outcome = {"brand_id": d.brand_id, "delivery_id": d.delivery_id}
        timestamp = int(time.time())
        body = d.body.encode()
        headers = {**{str(k): str(v) for k, v in d.headers.items()},
                   "content-type": "application/json",
                   "webhook-id": d.message_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(d.secrets, d.message_id, timestamp, body)}
        started = time.perf_counter()
        try:
            check_literal(URL(d.url).host or "", self.allowed)
            async with self.session.post(d.url, data=body, headers=headers, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=d.timeout_ms / 1000)) as r:
                excerpt = await r.content.read(EXCERPT)
                outcome.update(status_code=r.status, excerpt=excerpt.decode("utf-8", "replace"))
                if r.status in (429, 503):
                    outcome["retry_after"] = retry_after(r.headers.get("Retry-After"))
        except TimeoutError:
            outcome["error"] = f"timed out after {d.timeout_ms} ms"
        except (aiohttp.ClientError, OSError) as exc:
            cause = refusal(exc) or exc
            outcome["error"] = f"{type(cause).__name__}: {cause}"[:1024]
        outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return ("sent", outcome)

