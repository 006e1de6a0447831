"""A lean HTTP/1.1 client for webhook deliveries: one POST rendered to bytes in one piece,
the response parsed by httptools (llhttp, the parser behind uvicorn), keep-alive
connections pooled per host, never a redirect followed.

Why not aiohttp's client: measured in `brandbase worker`, it spent about 400 µs of CPU per
delivery building request and response objects the worker never reads, which capped
deliveries near 1,000/s on two cores. This path does only what a delivery needs.

SSRF: connections go only to addresses a `GuardedResolver` returned for the host, so a
name cannot be re-pointed between check and connect; IP literals pass the same guard.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import httptools

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IDLE_TIMEOUT = 15.0  # seconds a pooled connection may sit idle before it is dropped
DNS_TTL = 30.0  # seconds a vetted resolution is reused
MAX_BODY = 64 * 1024  # response bytes read to keep a connection; past that it is closed
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110)


# The networks deliveries never go to; webhooks.refused_networks holds the same list (a test
# compares them) for the checks at save time. IPv4 addresses embedded in IPv6 are unwrapped
# and checked too, and anything Python's ipaddress does not call global is refused besides.
REFUSED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3", "::/127", "64:ff9b:1::/48", "100::/64",
    "2001:2::/48", "2001:db8::/32", "2001:10::/28", "2001:20::/28", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8", "2001::/32"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
COMPATIBLE = ipaddress.ip_network("::/96")
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


class RefusedAddress(OSError):
    """The target resolves only to addresses deliveries may not reach."""


def embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, translated, compatible, NAT64,
    6to4, Teredo (server and client) -- the same forms as webhooks.embedded_ipv4()."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped or ip in NAT64 or ip in COMPATIBLE or ip in TRANSLATED:
        return [low]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)
    return []


@functools.lru_cache(maxsize=4096)
def refused(address: str, allowed: tuple[Network, ...]) -> bool:
    """Whether deliveries may not go to this address: it, or an IPv4 address inside it, is
    in a refused network (or not global) and not in an allowed one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    inner = embedded_ipv4(ip)
    for candidate in (ip, *inner):
        if any(candidate in net for net in allowed):
            continue
        if any(candidate in net for net in REFUSED_NETWORKS if net.version == candidate.version):
            return True
        # an embedding form is judged by what it embeds (ipaddress calls ::ffff:0:0/96 private)
        if (candidate is not ip or not inner) and (not candidate.is_global or candidate.is_multicast):
            return True
    return False


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """getaddrinfo in the loop's thread pool."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(info[4][0] for info in infos))


class GuardedResolver:
    """Resolves with `inner` and keeps only the addresses deliveries may reach (loopback,
    private, link-local and metadata, CGNAT, reserved and multicast are refused unless in
    `allowed`). An IP literal is checked as it is, without resolution."""

    def __init__(self, allowed: list[Network], inner: Resolver | None = None):
        self.allowed = tuple(allowed)
        self.inner = inner or SystemResolver()

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            found = [str(ipaddress.ip_address(host))]
        except ValueError:
            found = await self.inner.resolve(host, port)
        safe = [a for a in found if not refused(a, self.allowed)]
        if not safe:
            raise RefusedAddress(f"{host} resolves only to refused addresses ({', '.join(sorted(found))})")
        return safe


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; the last value wins
    excerpt: bytes = b""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, excerpt_limit: int):
        self.excerpt_limit = excerpt_limit
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._reset()

    def _reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.body = bytearray()
        self.received = 0
        self.done: asyncio.Future | None = None

    def send(self, request: bytes) -> asyncio.Future:
        self._reset()
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.done

    def close(self) -> None:
        self.closed = True
        if self.transport:
            self.transport.abort()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(keep=False)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.response is not None:  # a body delimited by the close
            self._finish(keep=False)
        else:
            self._fail(exc or ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_message_begin(self) -> None:
        self._headers: dict[str, str] = {}

    def on_headers_complete(self) -> None:
        self.response = Response(self.parser.get_status_code(), self._headers)

    def on_body(self, body: bytes) -> None:
        if len(self.body) < self.excerpt_limit:
            self.body += body[: self.excerpt_limit - len(self.body)]
        if self.received > MAX_BODY:
            self._finish(keep=False)

    def on_message_complete(self) -> None:
        self._finish(keep=self.parser.should_keep_alive())

    def _finish(self, keep: bool) -> None:
        if self.done is None or self.done.done():
            return
        if not keep:
            self.close()
        self.response.excerpt = bytes(self.body)
        self.done.set_result(self.response)

    def _fail(self, exc: BaseException) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)


class Client:
    """POSTs over pooled keep-alive connections to guarded addresses."""

    def __init__(self, resolver: Resolver, user_agent: str, excerpt_limit: int = 1024):
        self.resolver = resolver
        self.user_agent = user_agent
        self.excerpt_limit = excerpt_limit
        self.idle: dict[tuple[str, str, int], list[_Connection]] = defaultdict(list)
        self.addresses: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.tls = ssl.create_default_context()

    async def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float,
                   custom: dict[str, str] | None = None) -> Response:
        scheme, host, port, target, authority = split(url)
        request = render(target, authority, headers, body, self.user_agent, custom)
        async with asyncio.timeout(timeout):
            conn, reused = await self._acquire(scheme, host, port)
            answered = False
            try:
                try:
                    response = await conn.send(request)
                except ConnectionError:
                    if not (reused and conn.received == 0):
                        raise
                    conn.close()  # the server dropped an idle connection: once more on a new one
                    conn = await self._open(scheme, host, port)
                    response = await conn.send(request)
                answered = True
            finally:
                if not answered:  # failed, timed out or cancelled mid-exchange: never reuse it
                    conn.close()
        if not conn.closed:
            conn.idle_since = time.monotonic()
            self.idle[(scheme, host, port)].append(conn)
        return response

    async def _acquire(self, scheme: str, host: str, port: int) -> tuple[_Connection, bool]:
        pool = self.idle[(scheme, host, port)]
        while pool:
            conn = pool.pop()
            if not conn.closed and time.monotonic() - conn.idle_since < IDLE_TIMEOUT:
                return conn, True
            conn.close()
        return await self._open(scheme, host, port), False

    async def _open(self, scheme: str, host: str, port: int) -> _Connection:
        addresses = await self._resolve(host, port)
        loop = asyncio.get_running_loop()
        error: OSError | None = None
        for address in addresses:
            try:
                _, conn = await loop.create_connection(
                    lambda: _Connection(self.excerpt_limit), address, port,
                    ssl=self.tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None)
                return conn
            except OSError as exc:
                error = exc
        raise error

    async def _resolve(self, host: str, port: int) -> list[str]:
        cached = self.addresses.get((host, port))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        addresses = await self.resolver.resolve(host, port)
        self.addresses[(host, port)] = (time.monotonic() + DNS_TTL, addresses)
        return addresses

    def close(self) -> None:
        for pool in self.idle.values():
            for conn in pool:
                conn.close()
        self.idle.clear()


@functools.lru_cache(maxsize=4096)
def split(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, request target, Host header) of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    default = 443 if parts.scheme == "https" else 80
    port = default if parts.port is None else parts.port  # raises ValueError past 65535
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {url}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname.encode("idna").decode("ascii")
    return parts.scheme, parts.hostname, port, target, name if port == default else f"{name}:{port}"


# Names the client sets itself or that frame the request: an endpoint's custom headers never
# carry them (webhooks.assert_headers refuses them when saved; these are dropped if met).
RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-type",
                      "user-agent", "te", "trailer", "upgrade", "keep-alive", "proxy-connection",
                      "expect", "content-encoding"})
VALUE = re.compile(r"[\x20-\x7e\t]*")  # visible ASCII, space and tab


def render(target: str, host: str, headers: dict[str, str], body: bytes, user_agent: str,
           custom: dict[str, str] | None = None) -> bytes:
    """The request's bytes. `headers` are the sender's own; `custom` are an endpoint's,
    rendered after them without any reserved name (Host, Content-Length, Transfer-Encoding,
    ...), any webhook-* name, or a name already sent in another case, so no framing header is
    ever sent twice. Every name must be a token and every value visible ASCII (no CR, LF or
    NUL), so no header can smuggle a second request."""
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {user_agent}",
             f"Content-Length: {len(body)}"]
    seen = {"host", "user-agent", "content-length"}
    for own, pairs in ((True, headers), (False, custom or {})):
        for name, value in pairs.items():
            if not TOKEN.fullmatch(name) or not VALUE.fullmatch(value):
                raise ValueError(f"invalid header {name!r}")
            lower = name.lower()
            if lower in seen or not own and (lower in RESERVED or lower.startswith("webhook-")):
                continue
            seen.add(lower)
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
