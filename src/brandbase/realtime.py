"""`brandbase realtime`: notifications over Server-Sent Events, for apps without Supabase
Realtime.

A client opens ``GET /notifications/stream?brand=<uuid>`` with the JWT the app already
uses (``Authorization: Bearer <jwt>``, or ``?access_token=<jwt>`` since a browser's
EventSource cannot set headers). The token is verified here (HS256 with the secret from
``BRANDBASE_JWT_SECRET`` or ``SUPABASE_JWT_SECRET``, as Supabase signs them; audience
``authenticated``); a forged or expired one gets 401 and nothing else. Every database read
then runs as PostgREST runs a request: ``set local role authenticated`` and
``request.jwt.claims`` from the token, so RLS decides what the user sees, exactly as
through the API.

Events:
    counts        {"unread", "unseen", "categories"} at connect and after every change
    notification  one new notification; ``id:`` is its per-user sequence number (seq)
    presence      {"user_id", "online"} when a member of the brand comes or goes
    reconnect     the server drops a slow client (its buffer is full): reconnect

Resuming: the browser sends ``Last-Event-ID`` on reconnect; the server sends every
notification with a larger seq from the table, then the live ones, and skips what it
already sent: nothing lost, nothing twice. seq is given out under the inbox row's lock, so
it follows commit order and a late commit can never hide below an id already sent.

Live path: the pack's ``pg_notify`` on the user's channel (``notify.channel_of``) carries
only the id; the server LISTENs to the channels of connected users (one connection) and
reads new notifications once per user and brand, for all of that user's streams: the ids
that arrive while a user's read is in flight are read together by the next one (one read
per user and burst, in commit order), the reads of many users go in one pipeline (one
round trip, each as its user), and the events are fanned out in-process.

``GET /presence?brand=<uuid>`` lists the members of the brand with an open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import jwt
import psycopg

MAX_HEADER_BYTES = 16 * 1024
BACKLOG_PAGE = 500  # notifications read per page when a stream resumes
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

BACKLOG_SQL = """
select n.seq, to_jsonb(n) from api.notifications as n
where n.brand_id = %s and n.seq > %s order by n.seq limit %s
"""
ON_NOTIFY_SQL = """
select (select jsonb_agg(jsonb_build_array(n.seq, to_jsonb(n)) order by n.seq) from api.notifications as n
        where n.brand_id = %(brand)s and n.id = any(%(ids)s)),
       api.unread_counts(%(brand)s)
"""
# as PostgREST does it: the role and the claims, for the transaction, in one statement
SET_USER_SQL = (
    "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)"
)
READ_BATCH = 64  # users read in one pipeline
STATE_SQL = """
select api.unread_counts(%s), coalesce((select c.seq from notify.inboxes as c
    where c.brand_id = %s and c.user_id = %s), 0)
"""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>brandbase realtime</title></head>
<body>
<h1>Notifications</h1>
<p>unread: <span id="unread">?</span> <span id="status">connecting</span></p>
<ul id="list"></ul>
<script>
const q = new URLSearchParams(location.search);
const source = new EventSource('/notifications/stream?brand=' + encodeURIComponent(q.get('brand'))
  + '&access_token=' + encodeURIComponent(q.get('token')));
source.onopen = () => { document.getElementById('status').textContent = 'live'; };
source.addEventListener('counts', (e) => {
  document.getElementById('unread').textContent = JSON.parse(e.data).unread;
});
source.addEventListener('notification', (e) => {
  const n = JSON.parse(e.data);
  const li = document.createElement('li');
  li.className = 'notification';
  li.textContent = n.title;
  document.getElementById('list').prepend(li);
});
</script>
</body></html>
"""


class AuthError(Exception):
    pass


def jwt_secret() -> str | None:
    return os.environ.get("BRANDBASE_JWT_SECRET") or os.environ.get("SUPABASE_JWT_SECRET")


def verify(token: str | None, secret: str, audience: str = "authenticated") -> dict:
    """The claims of a valid HS256 token with a uuid sub; AuthError otherwise."""
    if not token:
        raise AuthError("missing bearer token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=audience, options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    if not isinstance(claims.get("sub"), str) or not UUID_RE.match(claims["sub"]):
        raise AuthError("invalid token: sub is not a user id")
    return claims


def sse(event: str, data: object, event_id: int | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


@dataclass(eq=False)
class Client:
    user_id: str
    brand_id: str
    claims: dict
    writer: asyncio.StreamWriter
    queue: asyncio.Queue
    last_seq: int = 0
    ready: bool = False  # live events are held back until the backlog went out
    held: list = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False

    def push(self, chunk: bytes) -> bool:
        """Queue bytes for the socket; False (and the client dropped) when its buffer is full."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(chunk)
            return True
        except asyncio.QueueFull:
            self.drop()
            return False

    def drop(self) -> None:
        """A slow client: tell it to reconnect (it resumes from its Last-Event-ID) and close."""
        self.dropped = True
        with contextlib.suppress(Exception):
            self.writer.write(b"retry: 1000\n" + sse("reconnect", {"reason": "slow client"}))
            self.writer.close()
        self.closed.set()

    def notification(self, seq: int, row: dict) -> None:
        if not self.ready:
            self.held.append((seq, row))
            return
        if seq <= self.last_seq:
            return  # already sent (backlog and live overlap)
        self.last_seq = seq
        self.push(sse("notification", row, seq))


@dataclass
class Server:
    dsn: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 8787
    buffer: int = 256  # events queued per client before it is dropped as slow
    heartbeat: float = 15.0
    allow_origin: str | None = None
    audience: str = "authenticated"
    readers: int = 4  # query connections
    log: Callable[[str], None] = print

    def __post_init__(self):
        self.clients: dict[tuple[str, str], set[Client]] = defaultdict(set)  # (user, brand)
        self.channels: dict[str, str] = {}  # pg channel -> user id
        self.pending_listen: asyncio.Queue = asyncio.Queue()
        self.listening: dict[str, asyncio.Future] = {}
        self.connections = 0
        self.user_brands: dict[str, set[str]] = defaultdict(set)  # user -> brands with a stream
        self.pending: dict[str, list[str]] = {}  # user -> payloads not read yet
        self.queued: dict[str, None] = {}  # users with payloads waiting for a reader, in order
        self.reading: set[str] = set()  # users whose read is in flight
        self.wake = asyncio.Event()
        self.delivered = 0
        self.server: asyncio.base_events.Server | None = None

    # -- database ------------------------------------------------------------------------

    async def start(self) -> None:
        # A few query connections, used in turn; a read as a user is one pipelined round trip.
        self.pool: asyncio.Queue = asyncio.Queue()
        self.conns = [
            await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) for _ in range(self.readers)
        ]
        for conn in self.conns:
            self.pool.put_nowait(conn)
        self.listener = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        self.listen_task = asyncio.create_task(self.listen_loop())
        self.reader_tasks = [asyncio.create_task(self.reader_loop()) for _ in range(self.readers)]
        self.server = await asyncio.start_server(
            self.handle, self.host, self.port, limit=MAX_HEADER_BYTES, backlog=2048
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.log(f"realtime: listening on http://{self.host}:{self.port}")

    async def close(self) -> None:
        if self.server:
            self.server.close()
        for clients in list(self.clients.values()):
            for c in list(clients):
                c.closed.set()
        self.listen_task.cancel()
        for task in self.reader_tasks:
            task.cancel()
        for task in [self.listen_task, *self.reader_tasks]:
            with contextlib.suppress(BaseException):
                await task
        for conn in self.conns:
            await conn.close()
        await self.listener.close()

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def as_user(self, claims: dict, query: str, params: tuple) -> list[tuple]:
        """One read as PostgREST does it: role authenticated, the token's claims, RLS."""
        conn = await self.pool.get()
        try:
            async with conn.pipeline() as pipeline:
                async with conn.transaction():
                    # as PostgREST does it: the role and the claims in one statement
                    await conn.execute(SET_USER_SQL, (json.dumps(claims),))
                    cursor = await conn.execute(query, params)
                await pipeline.sync()
                return await cursor.fetchall()
        finally:
            self.pool.put_nowait(conn)

    async def as_users(self, reads: list[tuple[dict, str, dict]]) -> list:
        """Several reads, each as its user in its own transaction, in one pipeline on one
        connection: one round trip. Should one fail (the pipeline then stops), each is made
        again on its own; a failed one's result is its exception."""
        if len(reads) == 1:
            try:
                return [await self.as_user(*reads[0])]
            except psycopg.Error as exc:
                return [exc]
        conn = await self.pool.get()
        try:
            cursors = []
            async with conn.pipeline() as pipeline:
                for claims, query, params in reads:
                    async with conn.transaction():
                        await conn.execute(SET_USER_SQL, (json.dumps(claims),))
                        cursors.append(await conn.execute(query, params))
                await pipeline.sync()
                return [await c.fetchall() for c in cursors]
        except psycopg.Error:
            pass
        finally:
            self.pool.put_nowait(conn)
        results = []
        for read in reads:
            try:
                results.append(await self.as_user(*read))
            except psycopg.Error as exc:
                results.append(exc)
        return results

    async def subscribe(self, user_id: str) -> None:
        channel = "brandbase_notify_" + user_id.replace("-", "")
        if channel in self.channels:
            await self.listening[channel]
            return
        self.channels[channel] = user_id
        done = asyncio.get_running_loop().create_future()
        self.listening[channel] = done
        await self.pending_listen.put(("listen", channel))
        await done

    async def listen_loop(self) -> None:
        conn = self.listener
        while True:
            while not self.pending_listen.empty():
                action, channel = self.pending_listen.get_nowait()
                await conn.execute(f'{action} "{channel}"')  # channel: fixed prefix and hex only
                fut = self.listening.get(channel)
                if action == "listen" and fut and not fut.done():
                    fut.set_result(None)
            async for note in conn.notifies(timeout=0.05):
                user_id = self.channels.get(note.channel)
                if user_id:
                    self.on_notify(user_id, note.payload)
            await asyncio.sleep(0)

    def on_notify(self, user_id: str, payload: str) -> None:
        """Queue a payload for the user. Reader tasks take the users with queued payloads in
        batches: one pipeline on one connection (one round trip) holds a read per user and
        brand, each as that user in its own transaction, for all of that user's queued ids.
        A user is in at most one batch at a time, so one user's events are read in the order
        they were committed; ids arriving meanwhile go in the next batch. The loop never
        waits for a read."""
        self.pending.setdefault(user_id, []).append(payload)
        if user_id not in self.reading and user_id not in self.queued:
            self.queued[user_id] = None
            self.wake.set()

    async def reader_loop(self) -> None:
        while True:
            await self.wake.wait()
            users = []
            while self.queued and len(users) < READ_BATCH:
                user_id = next(iter(self.queued))
                del self.queued[user_id]
                users.append(user_id)
            if not self.queued:
                self.wake.clear()
            if not users:
                continue
            self.reading.update(users)
            try:
                await self._read_users(users)
            except Exception as exc:  # noqa: BLE001 - a reader must survive anything
                self.log(f"realtime: read failed: {exc}")
            finally:
                for user_id in users:
                    self.reading.discard(user_id)
                    if self.pending.get(user_id):
                        self.queued[user_id] = None
                        self.wake.set()

    async def _read_users(self, users: list[str]) -> None:
        reads, meta = [], []
        for user_id in users:
            payloads = self.pending.pop(user_id, None) or []
            ids = sorted({int(p) for p in payloads if p.isdigit()})
            for brand_id in list(self.user_brands.get(user_id, ())):
                clients = self.clients.get((user_id, brand_id))
                if clients:
                    reads.append((next(iter(clients)).claims, ON_NOTIFY_SQL, {"brand": brand_id, "ids": ids}))
                    meta.append((user_id, brand_id, ids, len(payloads)))
        if not reads:
            return
        results = await self.as_users(reads)
        for (user_id, brand_id, ids, n_payloads), result in zip(meta, results, strict=True):
            if isinstance(result, Exception):
                self.log(f"realtime: read failed: {result}")
                continue
            [(found, counts)] = result
            if ids and not found and len(ids) == n_payloads:
                continue  # only other brands' notifications: nothing changed here
            clients = self.clients.get((user_id, brand_id)) or ()
            for seq, row in found or ():
                for c in list(clients):
                    c.notification(seq, row)
                    self.delivered += 1
            chunk = sse("counts", counts)
            for c in list(clients):
                if c.ready:
                    c.push(chunk)

    # -- HTTP ----------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                return await self.respond(writer, 400, {"error": "bad request"})
            method, target, _ = parts
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            url = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if method == "OPTIONS":
                return await self.respond(writer, 204, None)
            if method != "GET":
                return await self.respond(writer, 405, {"error": "method not allowed"})
            if url.path == "/":
                return await self.respond(writer, 200, PAGE, content_type="text/html; charset=utf-8")
            if url.path == "/healthz":
                return await self.respond(writer, 200, {"status": "ok", "connections": self.connections})
            if url.path not in ("/notifications/stream", "/presence"):
                return await self.respond(writer, 404, {"error": "not found"})
            token = query.get("access_token")
            auth = headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
            try:
                claims = verify(token, self.secret, self.audience)
            except AuthError as exc:
                return await self.respond(
                    writer,
                    401,
                    {"error": str(exc)},
                    extra={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            brand_id = query.get("brand", "")
            if not UUID_RE.match(brand_id):
                return await self.respond(writer, 400, {"error": "brand must be a brand id"})
            permission = "notifications.read" if url.path != "/presence" else "members.read"
            try:
                allowed = (
                    await self.as_user(claims, "select brand.has_permission(%s, %s)", (brand_id, permission))
                )[0][0]
            except psycopg.Error as exc:
                return await self.respond(writer, 403, {"error": exc.diag.message_primary or "refused"})
            if not allowed:
                return await self.respond(writer, 403, {"error": f"no {permission} in this brand"})
            if url.path == "/presence":
                return await self.respond(
                    writer, 200, {"brand_id": brand_id, "online": self.online(brand_id)}
                )
            last = headers.get("last-event-id") or query.get("last_event_id")
            await self.stream(
                reader, writer, claims, brand_id, int(last) if last and last.isdigit() else None
            )
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def cors(self) -> str:
        if not self.allow_origin:
            return ""
        return (
            f"Access-Control-Allow-Origin: {self.allow_origin}\r\n"
            "Access-Control-Allow-Headers: Authorization, Last-Event-ID\r\n"
        )

    async def respond(
        self, writer, status: int, body, content_type: str = "application/json", extra: dict | None = None
    ) -> None:
        reason = {
            200: "OK",
            204: "No Content",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            405: "Method Not Allowed",
        }[status]
        payload = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\nCache-Control: no-store\r\n"
            + self.cors()
            + "".join(f"{k}: {v}\r\n" for k, v in (extra or {}).items())
            + "\r\n"
        )
        writer.write(head.encode() + payload)
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    def online(self, brand_id: str) -> list[str]:
        return sorted(uid for (uid, bid), cs in self.clients.items() if bid == brand_id and cs)

    def announce(self, brand_id: str, user_id: str, online: bool) -> None:
        chunk = sse("presence", {"user_id": user_id, "online": online})
        for (uid, bid), cs in list(self.clients.items()):
            if bid == brand_id and uid != user_id:  # the others of the brand, not oneself
                for c in list(cs):
                    if c.ready:
                        c.push(chunk)

    async def stream(self, reader, writer, claims: dict, brand_id: str, last_seq: int | None) -> None:
        user_id = claims["sub"]
        client = Client(user_id, brand_id, claims, writer, asyncio.Queue(self.buffer))
        writer.write(
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                "Connection: keep-alive\r\nX-Accel-Buffering: no\r\n" + self.cors() + "\r\n"
            ).encode()
        )
        key = (user_id, brand_id)
        first = not self.clients[key]
        self.clients[key].add(client)
        self.user_brands[user_id].add(brand_id)
        self.connections += 1
        pump = asyncio.create_task(self.pump(client))
        watch = asyncio.create_task(self.watch(reader, client))
        try:
            await self.subscribe(user_id)  # before the backlog: nothing committed in between is missed
            state = await self.as_user(claims, STATE_SQL, (brand_id, brand_id, user_id))
            counts, current_seq = state[0]
            if last_seq is None:
                client.last_seq = current_seq
            else:
                # The backlog goes straight to the socket, page by page, at the client's pace
                # (the bounded buffer is for live events); nothing is queued before it.
                client.last_seq = last_seq
                while True:
                    rows = await self.as_user(claims, BACKLOG_SQL, (brand_id, client.last_seq, BACKLOG_PAGE))
                    for seq, row in rows:
                        client.last_seq = seq
                        writer.write(sse("notification", row, seq))
                    await writer.drain()
                    if len(rows) < BACKLOG_PAGE:
                        break
            client.push(sse("counts", counts, client.last_seq))
            client.ready = True
            for seq, row in sorted(client.held, key=lambda x: x[0]):
                client.notification(seq, row)
            client.held.clear()
            if first:
                self.announce(brand_id, user_id, True)
            while not client.closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.closed.wait(), self.heartbeat)
                if not client.closed.is_set():
                    client.push(b": ping\n\n")
        finally:
            pump.cancel()
            watch.cancel()
            self.clients[key].discard(client)
            self.connections -= 1
            if not self.clients[key]:
                del self.clients[key]
                self.user_brands[user_id].discard(brand_id)
                if not self.user_brands[user_id]:
                    del self.user_brands[user_id]
                self.announce(brand_id, user_id, False)
                if user_id not in self.user_brands:
                    channel = "brandbase_notify_" + user_id.replace("-", "")
                    self.channels.pop(channel, None)
                    self.listening.pop(channel, None)
                    await self.pending_listen.put(("unlisten", channel))

    async def pump(self, client: Client) -> None:
        try:
            while True:
                chunk = await client.queue.get()
                client.writer.write(chunk)
                await client.writer.drain()
        except (ConnectionError, RuntimeError):
            client.closed.set()

    async def watch(self, reader, client: Client) -> None:
        """A client that hangs up (EOF) ends its stream."""
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass
        client.closed.set()


def token_for(user_id: str, secret: str, ttl: int = 3600, **extra) -> str:
    """An HS256 access token shaped as Supabase Auth issues them (for tests and tools)."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl,
        "session_id": str(uuid.uuid4()),
        **extra,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
