"""Module notify, realtime: pg_notify on the recipient's channel (the id only), Supabase
Realtime's realtime.send() when the realtime schema exists, and the Server-Sent Events
server (`brandbase realtime`): JWT checks (forged, expired: 401 and nothing sent), live
notifications and counts, resume with Last-Event-ID without loss or duplicates, a slow
client dropped with a reconnect hint, presence, and isolation between users and brands."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import psycopg
import pytest
from psycopg.types.json import Jsonb

from brandbase import realtime
from brandbase.local import OWNER

SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


def seed(dsn: str) -> dict:
    """Brands acme and bolt with a member of every tier (the pgTAP helper), as a dict of ids."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select tests.seed_two_brands()")
        ids = {
            "acme": conn.execute("select tests.brand('acme')::text").fetchone()[0],
            "bolt": conn.execute("select tests.brand('bolt')::text").fetchone()[0],
        }
        for handle in ("viewer@acme", "member@acme", "owner@acme", "viewer@bolt"):
            ids[handle] = conn.execute("select tests.uid(%s)::text", (handle,)).fetchone()[0]
    return ids


def send(dsn: str, brand: str, user: str, title: str, n: int = 1, body: str | None = None) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(n):
            conn.execute(
                "select notify.send(%s, %s, 'system', %s, %s)",
                (brand, Jsonb(user), title if n == 1 else f"{title} {i}", body),
            )
        return [
            r[0]
            for r in conn.execute(
                "select id from notify.notifications where brand_id = %s and user_id = %s order by id",
                (brand, user),
            ).fetchall()
        ]


# ---------------------------------------------------------------------------------------
# pg_notify and realtime.send


def test_pg_notify_carries_only_the_id_on_the_users_channel(owner_dsn):
    ids = seed(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as listener:
        channel = listener.execute("select notify.channel_of(%s)", (ids["viewer@acme"],)).fetchone()[0]
        other = listener.execute("select notify.channel_of(%s)", (ids["member@acme"],)).fetchone()[0]
        listener.execute(f'listen "{channel}"')
        listener.execute(f'listen "{other}"')
        sent = send(owner_dsn, ids["acme"], ids["viewer@acme"], "Hello")
        notes = list(listener.notifies(timeout=2, stop_after=1))
        assert [(n.channel, n.payload) for n in notes] == [(channel, str(sent[-1]))]
        with psycopg.connect(owner_dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("select tests.authenticate_as(%s)", (ids["viewer@acme"],))
            conn.execute("select api.mark_notifications(%s, null, 'read')", (ids["acme"],))
        notes = list(listener.notifies(timeout=2, stop_after=1))
        assert [(n.channel, n.payload) for n in notes] == [(channel, "counts")]


# Supabase's realtime.send() as the realtime service's tenant migrations define it (the
# daily-partitioned realtime.messages, one broadcast row per call); src/brandbase/
# supabase_twin.sql carries the same stub for the twin.
REALTIME_STUB = """
create schema if not exists realtime;
create table if not exists realtime.messages (
    topic text not null, extension text not null, payload jsonb, event text, private boolean default false,
    updated_at timestamp not null default now(), inserted_at timestamp not null default now(),
    id uuid not null default gen_random_uuid()
);
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void language plpgsql as $$
begin
    begin
        execute format('set local realtime.topic to %L', topic);
        insert into realtime.messages (payload, event, topic, private, extension)
        values (payload, event, topic, private, 'broadcast');
    exception when others then
        raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
    end;
end $$;
"""


def test_realtime_send_broadcasts_to_the_private_per_user_topic(owner_dsn, db):
    ids = seed(owner_dsn)
    db.execute(REALTIME_STUB)
    # on Supabase the installer (postgres) may use realtime and call send(), as here
    db.execute(f"grant usage on schema realtime to {OWNER}; grant all on realtime.messages to {OWNER}")
    db.commit()
    sent = send(owner_dsn, ids["acme"], ids["viewer@acme"], "Over Supabase Realtime")
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "select topic, event, private, extension, payload from realtime.messages"
        ).fetchall()
    assert len(rows) == 1
    topic, event, private, extension, payload = rows[0]
    assert (topic, event, private, extension) == (
        f"notify:{ids['viewer@acme']}",
        "notification",
        True,
        "broadcast",
    )
    assert payload["id"] == sent[-1] and payload["title"] == "Over Supabase Realtime"
    assert payload["brand_id"] == ids["acme"]


# ---------------------------------------------------------------------------------------
# Server-Sent Events


class Stream:
    """A raw SSE client: the status, the headers, then events as dicts."""

    def __init__(self, reader, writer, status: int, headers: dict, body: bytes = b""):
        self.reader, self.writer, self.status, self.headers, self.body = reader, writer, status, headers, body

    async def event(self, timeout: float = 5.0) -> dict:
        while True:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\n\n"), timeout)
            text = raw.decode()
            if text.startswith(":"):
                continue  # heartbeat
            event = {}
            for line in text.strip().split("\n"):
                key, _, value = line.partition(": ")
                event[key] = value
            if "data" in event:
                event["data"] = json.loads(event["data"])
            return event

    async def until(self, kind: str, timeout: float = 5.0) -> dict:
        while True:
            e = await self.event(timeout)
            if e.get("event") == kind:
                return e

    def close(self):
        self.writer.close()


async def open_stream(
    port: int,
    path: str,
    token: str | None = None,
    last_event_id: int | None = None,
    rcvbuf: int | None = None,
) -> Stream:
    if rcvbuf:
        import socket

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect(("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if last_event_id is not None:
        head += f"Last-Event-ID: {last_event_id}\r\n"
    writer.write((head + "\r\n").encode())
    await writer.drain()
    status_line = (await reader.readuntil(b"\r\n")).decode()
    headers = {}
    while (line := (await reader.readuntil(b"\r\n")).decode()) != "\r\n":
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(status_line.split()[1])
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    return Stream(reader, writer, status, headers, body)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def server_for(dsn: str, **kw) -> realtime.Server:
    server = realtime.Server(dsn, SECRET, port=0, log=lambda m: None, **kw)
    await server.start()
    return server


async def send_async(dsn, *args, **kw):
    return await asyncio.to_thread(send, dsn, *args, **kw)


def test_forged_or_expired_tokens_get_401_and_nothing_else(owner_dsn):
    ids = seed(owner_dsn)
    user = ids["viewer@acme"]

    async def main():
        server = await server_for(owner_dsn)
        try:
            path = f"/notifications/stream?brand={ids['acme']}"
            cases = {
                "forged": realtime.token_for(user, "another-secret-another-secret-another-secret"),
                "expired": realtime.token_for(user, SECRET, ttl=-60),
                "none": None,
                "wrong audience": jwt.encode(
                    {"sub": user, "aud": "anon", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
                ),
                "alg none": jwt.encode(
                    {"sub": user, "aud": "authenticated", "exp": int(time.time()) + 60},
                    None,
                    algorithm="none",
                ),
                "sub not a uuid": realtime.token_for("not-a-user", SECRET),
            }
            for label, token in cases.items():
                s = await open_stream(server.port, path, token)
                assert s.status == 401, label
                assert "text/event-stream" not in s.headers.get("content-type", ""), label
                assert await s.reader.read() == b"", f"{label}: something was sent after the 401"
                s.close()
            assert server.connections == 0
            # a valid token for a brand the user is not a member of: 403
            s = await open_stream(
                server.port, f"/notifications/stream?brand={ids['bolt']}", realtime.token_for(user, SECRET)
            )
            assert s.status == 403
        finally:
            await server.close()

    run(main())


def test_live_notifications_and_counts_reach_the_user_and_only_them(owner_dsn):
    ids = seed(owner_dsn)

    async def main():
        server = await server_for(owner_dsn)
        try:
            viewer = await open_stream(
                server.port,
                f"/notifications/stream?brand={ids['acme']}",
                realtime.token_for(ids["viewer@acme"], SECRET),
            )
            member = await open_stream(
                server.port,
                f"/notifications/stream?brand={ids['acme']}",
                realtime.token_for(ids["member@acme"], SECRET),
            )
            assert viewer.status == 200 and viewer.headers["content-type"] == "text/event-stream"
            first = await viewer.until("counts")
            assert first["data"]["unread"] == 0 and first["id"] == "0"
            await member.until("counts")
            await send_async(owner_dsn, ids["acme"], ids["viewer@acme"], "Just for the viewer")
            e = await viewer.until("notification")
            assert e["data"]["title"] == "Just for the viewer" and e["id"] == "1"
            counts = await viewer.until("counts")
            assert counts["data"]["unread"] == 1
            assert counts["data"]["categories"]["system"] == {"unread": 1, "unseen": 1}
            with pytest.raises(TimeoutError):
                await member.until("notification", timeout=0.7)  # nothing of another user's
            # the viewer's notification in another brand does not reach the acme stream
            await send_async(owner_dsn, ids["bolt"], ids["viewer@bolt"], "bolt only")
            with pytest.raises(TimeoutError):
                await viewer.until("notification", timeout=0.7)
            viewer.close()
            member.close()
        finally:
            await server.close()

    run(main())


def test_resume_with_last_event_id_loses_and_repeats_nothing(owner_dsn):
    ids = seed(owner_dsn)
    user = ids["viewer@acme"]
    token = realtime.token_for(user, SECRET)
    path = f"/notifications/stream?brand={ids['acme']}"

    async def main():
        server = await server_for(owner_dsn)
        try:
            s = await open_stream(server.port, path, token)
            await s.until("counts")
            await send_async(owner_dsn, ids["acme"], user, "n1")
            e1 = await s.until("notification")
            s.close()  # disconnected mid-stream
            await asyncio.sleep(0.2)
            await send_async(owner_dsn, ids["acme"], user, "gap", n=3)
            s = await open_stream(server.port, path, token, last_event_id=int(e1["id"]))
            got = [await s.until("notification") for _ in range(3)]
            assert [g["data"]["title"] for g in got] == ["gap 0", "gap 1", "gap 2"]
            assert [int(g["id"]) for g in got] == [2, 3, 4]
            await s.until("counts")
            await send_async(owner_dsn, ids["acme"], user, "live")
            live = await s.until("notification")
            assert (live["data"]["title"], live["id"]) == ("live", "5")
            with pytest.raises(TimeoutError):
                await s.until("notification", timeout=0.7)  # and nothing twice
            s.close()
        finally:
            await server.close()

    run(main())


def test_a_slow_client_is_dropped_with_a_reconnect_hint_and_resumes_without_loss(owner_dsn):
    import socket

    ids = seed(owner_dsn)
    user = ids["viewer@acme"]
    token = realtime.token_for(user, SECRET)
    path = f"/notifications/stream?brand={ids['acme']}"
    body = "x" * 9000
    total = 600

    def read_all(sock) -> bytes:
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)

    async def main():
        server = await server_for(owner_dsn, buffer=4)
        try:
            # a client that reads nothing: a blocking socket with a small receive buffer
            slow = socket.socket()
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.connect(("127.0.0.1", server.port))
            slow.sendall(f"GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            deadline = time.monotonic() + 10
            while not server.clients and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            await send_async(owner_dsn, ids["acme"], user, "bulk", n=total, body=body)
            deadline = time.monotonic() + 60
            while server.connections and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert server.connections == 0, "the slow client was never dropped"
            raw = (await asyncio.to_thread(read_all, slow)).decode()
            slow.close()
            events = raw.split("\r\n\r\n", 1)[1].split("\n\n")
            seen = [
                int(e.split("id: ")[1].split("\n")[0]) for e in events if e.startswith("event: notification")
            ]
            hints = [e for e in events if "event: reconnect" in e]
            assert hints and '"slow client"' in hints[-1] and "retry: 1000" in hints[-1]
            assert seen == list(range(1, len(seen) + 1)) and 0 < len(seen) < total
            again = await open_stream(server.port, path, token, last_event_id=seen[-1])
            rest = [int((await again.until("notification"))["id"]) for _ in range(total - len(seen))]
            assert seen + rest == list(range(1, total + 1)), "resumed without loss or duplicates"
            again.close()
        finally:
            await server.close()

    run(main())


def test_presence_lists_the_members_with_an_open_stream(owner_dsn):
    ids = seed(owner_dsn)

    async def main():
        server = await server_for(owner_dsn)
        try:
            path = f"/notifications/stream?brand={ids['acme']}"
            a = await open_stream(server.port, path, realtime.token_for(ids["viewer@acme"], SECRET))
            await a.until("counts")
            b = await open_stream(server.port, path, realtime.token_for(ids["member@acme"], SECRET))
            await b.until("counts")
            came = await a.until("presence")
            assert came["data"] == {"user_id": ids["member@acme"], "online": True}
            p = await open_stream(
                server.port, f"/presence?brand={ids['acme']}", realtime.token_for(ids["owner@acme"], SECRET)
            )
            assert p.status == 200
            assert json.loads(p.body)["online"] == sorted([ids["viewer@acme"], ids["member@acme"]])
            b.close()
            went = await a.until("presence")
            assert went["data"] == {"user_id": ids["member@acme"], "online": False}
            p = await open_stream(
                server.port, f"/presence?brand={ids['acme']}", realtime.token_for(ids["viewer@bolt"], SECRET)
            )
            assert p.status == 403, "presence of another brand is refused"
            a.close()
        finally:
            await server.close()

    run(main())


def test_the_cli_refuses_to_start_without_a_jwt_secret(owner_dsn, monkeypatch):
    from tests.helpers import run_cli

    env_less = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("BRANDBASE_JWT_SECRET", "SUPABASE_JWT_SECRET")
    }
    done = run_cli("realtime", "--dsn", owner_dsn, env=env_less)
    assert done.returncode != 0 and "BRANDBASE_JWT_SECRET" in done.stderr


def test_a_burst_for_one_user_arrives_whole_in_commit_order_with_one_read_per_batch(owner_dsn):
    """Ids that arrive while the user's read is in flight are read together by the next one:
    every notification arrives once, in seq order, and the server made fewer reads than
    notifications (one send per transaction, 30 transactions from 3 connections)."""
    ids = seed(owner_dsn)

    async def main():
        server = await server_for(owner_dsn)
        reads = 0
        as_user = server.as_user

        async def counting(claims, query, params):
            nonlocal reads
            if query == realtime.ON_NOTIFY_SQL:
                reads += 1
                await asyncio.sleep(0.05)  # a slow read: the burst piles up behind it
            return await as_user(claims, query, params)

        server.as_user = counting
        try:
            viewer = await open_stream(
                server.port,
                f"/notifications/stream?brand={ids['acme']}",
                realtime.token_for(ids["viewer@acme"], SECRET),
            )
            await viewer.until("counts")
            await asyncio.gather(
                *(
                    send_async(owner_dsn, ids["acme"], ids["viewer@acme"], f"burst {k}", n=10)
                    for k in range(3)
                )
            )
            seqs = []
            while len(seqs) < 30:
                e = await viewer.until("notification")
                seqs.append(int(e["id"]))
            assert seqs == list(range(1, 31)), "all, once each, in commit order"
            with pytest.raises(TimeoutError):
                await viewer.until("notification", timeout=0.5)  # nothing twice
            assert reads < 30, f"{reads} reads for 30 notifications"
            viewer.close()
        finally:
            await server.close()

    run(main())
