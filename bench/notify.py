"""Module notify: fan-out of one notification to every member of a brand beside the floor
(a bare `insert … select` of the same rows into an identical table without triggers,
alternating rounds, medians), unread counts of a user with many notifications, mark-all-
read, and the daily digest: N users × 20 unread each gathered and handed to a real local
SMTP server (aiosmtpd, its own process) by the email handler under `brandbase worker`'s
lanes.

    .venv/bin/python bench/notify.py [--users 10000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cluster, free_port, header, table  # noqa: E402

from brandbase import migrate, notify_email, pack, realtime  # noqa: E402
from brandbase.worker import Worker  # noqa: E402

SINK = """
import asyncio, signal, sys
from aiosmtpd.controller import Controller
class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return '250 OK'
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
c = Controller(Count(), hostname='127.0.0.1', port=int(sys.argv[1]))
c.start()
print('ready', flush=True)
signal.sigwait({signal.SIGTERM})
c.stop()
print(Count.n, flush=True)
"""


def setup(dsn: str, users: int) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        owner = conn.execute(
            "insert into auth.users (email) values ('owner@bench.test') returning id"
        ).fetchone()[0]
        brand = conn.execute(
            "insert into brand.brands (slug, name, created_by) values ('bench', 'Bench', %s) returning id",
            (owner,),
        ).fetchone()[0]
        conn.execute(
            "insert into brand.members (brand_id, user_id, tier) values (%s, %s, 'owner')", (brand, owner)
        )
        conn.execute(
            "insert into auth.users (email) select 'u' || g || '@bench.test' from generate_series(1, %s) g",
            (users,),
        )
        conn.execute(
            "insert into brand.members (brand_id, user_id, tier) select %s, id, 'viewer' from auth.users "
            "where email like 'u%%@bench.test'",
            (brand,),
        )
        conn.execute(
            "select notify.register_category('digestible', 'bench', false, "
            '\'{"in_app": true, "email": true}\')'
        )
        conn.execute(
            "insert into notify.brand_channels (brand_id, channel, digest) values (%s, 'email', 'daily')",
            (brand,),
        )
        conn.execute(
            "create table public.floor (like notify.notifications including all)"
        )  # no FKs, no triggers
        conn.execute("vacuum analyze")
    return str(brand)


TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """The server process's own CPU seconds (user + system), from /proc: moves far less with
    the machine's load than wall time does."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def floor_with_counters(conn, brand: str, seq: int) -> float:
    """The second floor: the same bare insert, plus the one thing the delivery contract adds
    per recipient whatever the implementation: a bare UPDATE of each recipient's inbox row
    (the per-user seq of the SSE ids, the unread/unseen counters) in a copy of notify.inboxes,
    in the same transaction."""
    t = time.perf_counter()
    with conn.transaction():
        floor(conn, brand, seq)
        conn.execute(
            "update public.floor_inbox as i "
            "set seq = i.seq + 1, unread = i.unread + 1, unseen = i.unseen + 1 "
            "from brand.members as m "
            "where m.brand_id = %s and i.brand_id = m.brand_id and i.user_id = m.user_id",
            (brand,),
        )
    return time.perf_counter() - t


def fan_out(conn, brand: str) -> float:
    t = time.perf_counter()
    conn.execute(
        "select notify.send(%s, '{\"permission\": \"notifications.read\"}', 'system', 'bench fan-out')",
        (brand,),
    )
    return time.perf_counter() - t


def floor(conn, brand: str, seq: int) -> float:
    t = time.perf_counter()
    conn.execute(
        "insert into public.floor (brand_id, user_id, seq, category, title, created_at) "
        "select m.brand_id, m.user_id, %s, 'system', 'bench fan-out', now() from brand.members as m "
        "inner join brand.tier_permissions as tp "
        "on tp.tier = m.tier and tp.permission = 'notifications.read' "
        "where m.brand_id = %s",
        (seq, brand),
    )
    return time.perf_counter() - t


def as_user(conn, user: str) -> None:
    conn.execute(
        "select set_config('request.jwt.claims', %s, false)",
        (json.dumps({"sub": user, "role": "authenticated"}),),
    )
    conn.execute("set role authenticated")


def many(dsn: str, brand: str, user: str, n: int, unread: bool) -> None:
    """n notifications for one user written directly, with the counters they imply (bench setup)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into notify.notifications (brand_id, user_id, seq, category, title, read_at, seen_at) "
            "select %s, %s, 1000000 + g, 'system', 'bulk ' || g, "
            "case when %s then null else now() end, case when %s then null else now() end "
            "from generate_series(1, %s) g",
            (brand, user, unread, unread, n),
        )
        conn.execute(
            "update notify.inboxes set unread = unread + %s, unseen = unseen + %s, "
            "by_category = notify._merge_counts(by_category, "
            "jsonb_build_object('system', jsonb_build_array(%s, %s))) "
            "where brand_id = %s and user_id = %s",
            (n if unread else 0,) * 4 + (brand, user),
        )
        conn.execute("vacuum analyze notify.notifications")


async def sse_latency(
    dsn: str, brand: str, users: list[str], connections: int, rate: int, seconds: float, producers: int = 4
):
    """`brandbase realtime` in its own process holding `connections` streams (one per user);
    notifications sent from SQL at `rate`/s to random connected users; latency from the send's
    commit to the event's arrival."""
    secret = "bench-secret-bench-secret-bench-secret-42"
    port = free_port()
    env = {**os.environ, "BRANDBASE_JWT_SECRET": secret}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brandbase.cli",
            "realtime",
            "--dsn",
            dsn,
            "--port",
            str(port),
            "--buffer",
            "1024",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "listening" in server.stderr.readline()
    arrivals: dict[str, float] = {}
    ready = 0

    async def client(user: str):
        nonlocal ready
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        token = realtime.token_for(user, secret, ttl=3600)
        writer.write(
            (
                f"GET /notifications/stream?brand={brand} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        await reader.readuntil(b"\r\n\r\n")
        counted = False
        while True:
            chunk = (await reader.readuntil(b"\n\n")).decode()
            if "event: counts" in chunk and not counted:
                counted = True
                ready += 1
            if "event: notification" in chunk:
                data = json.loads(chunk.split("data: ", 1)[1])
                arrivals[data["title"]] = time.perf_counter()

    targets = users[:connections]
    tasks = []
    for i in range(0, len(targets), 50):
        tasks += [asyncio.create_task(client(u)) for u in targets[i : i + 50]]
        await asyncio.sleep(0.05)
    deadline = time.perf_counter() + 120
    while ready < len(targets) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    sent: dict[str, float] = {}

    n = int(rate * seconds)
    rnd = random.Random(1)
    plan = [(f"sse {i}", rnd.choice(targets)) for i in range(n)]

    def producer(k: int, start: float):
        """Producer k of `producers`: sends i = k, k + producers, … each at start + i / rate,
        on its own connection (one send is one round trip and one commit)."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select 1")
            for i in range(k, n, producers):
                due = start + i / rate
                if (pause := due - time.perf_counter()) > 0:
                    time.sleep(pause)
                title, user = plan[i]
                conn.execute("select notify.send(%s, %s, 'system', %s)", (brand, Jsonb(user), title))
                sent[title] = time.perf_counter()

    start = time.perf_counter() + 0.5
    cpu0 = (backend_cpu(server.pid), time.process_time())
    await asyncio.gather(*(asyncio.to_thread(producer, k, start) for k in range(producers)))
    achieved = n / (max(sent.values()) - start) if sent else 0.0
    span = max(sent.values()) - start if sent else 1.0
    cpu = ((backend_cpu(server.pid) - cpu0[0]) / span, (time.process_time() - cpu0[1]) / span)
    await asyncio.sleep(2)
    for t in tasks:
        t.cancel()
    server.terminate()
    server.wait(30)
    lat = sorted((arrivals[k] - v) * 1000 for k, v in sent.items() if k in arrivals)
    lost = len(sent) - len(lat)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")  # noqa: E731
    return ready, achieved, len(sent), lost, q(0.5), q(0.99), cpu


VERDICTS: list[tuple[str, str, str]] = []


def verdict(target: str, met: bool, figure: str) -> None:
    VERDICTS.append((target, figure, "met" if met else "MISSED"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--per-user", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--connections", type=int, default=1000, help="SSE streams held by one brandbase realtime"
    )
    ap.add_argument("--rate", type=int, default=200, help="notifications per second sent to the streams")
    ap.add_argument(
        "--many", type=int, default=100_000, help="notifications of the user whose counts are read"
    )
    ap.add_argument(
        "--quick", action="store_true", help="1,000 users, 10,000 notifications: well under a minute"
    )
    ap.add_argument("--producers", type=int, default=4, help="SSE part: sending connections")
    ap.add_argument(
        "--parts", default="fanout,inbox,sse,digest", help="comma-separated: fanout, inbox, sse, digest"
    )
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if args.quick:
        args.users, args.many, args.rounds, args.connections, args.rate = 1000, 10_000, 2, 100, 50
    c = cluster()
    name = f"bench_notify_{os.getpid()}"
    dsn = c.create_database(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate.migrate(conn, pack.load())
        brand = setup(dsn, args.users)
        header(f"notify: {args.users:,} members, digest of {args.per_user} each")

        # 1. fan-out beside the floor, alternating
        if "fanout" in parts:
            fanout_part(dsn, brand, args)
        if "inbox" in parts:
            inbox_part(dsn, brand, args)
        if "sse" in parts:
            sse_part(dsn, brand, args)
        if "digest" in parts:
            digest_part(dsn, brand, args)
        table(["target (issue 17)", "measured", "verdict"], [list(v) for v in VERDICTS])
    finally:
        c.drop_database(name)


def fanout_part(dsn: str, brand: str, args) -> None:
    fan, bare, fan_cpu, bare_cpu = [], [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        fan_out(conn, brand)  # warm: the inbox rows exist from here on, as in a live brand
        conn.execute("truncate public.floor")
        conn.execute(
        "create table public.floor_inbox (like notify.inboxes including all) with (fillfactor = 70)"
    )
        conn.execute("insert into public.floor_inbox select * from notify.inboxes")
        counted, counted_cpu = [], []
        for r in range(args.rounds):
            c0 = backend_cpu(pid)
            bare.append(floor(conn, brand, 2 * r + 1))
            c1 = backend_cpu(pid)
            fan.append(fan_out(conn, brand))
            c2 = backend_cpu(pid)
            counted.append(floor_with_counters(conn, brand, 2 * r + 2))
            c3 = backend_cpu(pid)
            bare_cpu.append(c1 - c0)
            fan_cpu.append(c2 - c1)
            counted_cpu.append(c3 - c2)
        conn.execute(
            "delete from notify.notifications; update notify.inboxes set unread = 0, unseen = 0, "
            "by_category = '{}'"
        )
    f, b = statistics.median(fan), statistics.median(bare)
    fc, bc = statistics.median(fan_cpu), statistics.median(bare_cpu)
    table(
        ["fan-out of one notification", "median s", "rows/s", "backend CPU s", "of the floor"],
        [
            [
                f"notify.send to {args.users + 1:,} members",
                f"{f:.3f}",
                f"{(args.users + 1) / f:,.0f}",
                f"{fc:.3f}",
                f"{b / f:.0%} (CPU: {bc / fc:.0%})" if fc else f"{b / f:.0%}",
            ],
            [
                "floor: insert … select, same rows, no triggers",
                f"{b:.3f}",
                f"{(args.users + 1) / b:,.0f}",
                f"{bc:.3f}",
                "100%",
            ],
            [
                "floor + a bare UPDATE of each recipient's inbox row (seq, counters)",
                f"{statistics.median(counted):.3f}",
                f"{(args.users + 1) / statistics.median(counted):,.0f}",
                f"{statistics.median(counted_cpu):.3f}",
                f"{b / statistics.median(counted):.0%}",
            ],
        ],
    )
    verdict(
        "fan-out >= 60% of the floor's throughput",
        b / f >= 0.60,
        f"{b / f:.0%} (floor + counters alone: {b / statistics.median(counted):.0%})",
    )


def inbox_part(dsn: str, brand: str, args) -> None:
    # 2. unread counts of a user with many notifications; mark-all-read of 10,000
    with psycopg.connect(dsn, autocommit=True) as conn:
        heavy = str(conn.execute("select id from auth.users where email = 'u1@bench.test'").fetchone()[0])
        other = str(conn.execute("select id from auth.users where email = 'u2@bench.test'").fetchone()[0])
    many(dsn, brand, heavy, args.many, unread=False)
    many(dsn, brand, other, 10_000, unread=True)
    samples, marks, select1 = [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        as_user(conn, heavy)
        conn.execute("select api.unread_counts(%s)", (brand,))
        for _ in range(200):
            t = time.perf_counter()
            conn.execute("select 1")
            select1.append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.execute("select api.unread_counts(%s)", (brand,)).fetchone()
            samples.append(time.perf_counter() - t)
    bare_marks = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(args.rounds):
            # the floor: the same rows marked by a bare UPDATE (no checks, no counters)
            t = time.perf_counter()
            conn.execute(
                "update notify.notifications set read_at = now(), seen_at = coalesce(seen_at, now()) "
                "where user_id = %s and brand_id = %s and read_at is null",
                (other, brand),
            )
            bare_marks.append(time.perf_counter() - t)
            conn.execute(
                "update notify.notifications set read_at = null, seen_at = null where user_id = %s",
                (other,),
            )
            as_user(conn, other)
            t = time.perf_counter()
            n = conn.execute("select api.mark_notifications(%s, null, 'read')", (brand,)).fetchone()[0]
            marks.append(time.perf_counter() - t)
            assert n == 10_000, n
            conn.execute("reset role")
            conn.execute(
                "update notify.notifications set read_at = null, seen_at = null where user_id = %s",
                (other,),
            )
            conn.execute(
                "update notify.inboxes set unread = 10000, unseen = 10000, "
                "by_category = '{\"system\": [10000, 10000]}' where user_id = %s",
                (other,),
            )
    table(
        ["inbox", "median ms", "floor (select 1) ms", "target"],
        [
            [
                f"api.unread_counts, user with {args.many:,} notifications",
                f"{statistics.median(samples) * 1000:.2f}",
                f"{statistics.median(select1) * 1000:.2f}",
                "< 2 ms",
            ],
            [
                "api.mark_notifications(all) of 10,000 unread",
                f"{statistics.median(marks) * 1000:.1f}",
                f"{statistics.median(bare_marks) * 1000:.1f} (bare UPDATE of the same rows)",
                "< 100 ms",
            ],
        ],
    )
    u, m = statistics.median(samples) * 1000, statistics.median(marks) * 1000
    verdict("unread counts median < 2 ms", u < 2, f"{u:.2f} ms")
    verdict("mark-all-read of 10,000 < 100 ms", m < 100, f"{m:.1f} ms")


def sse_part(dsn: str, brand: str, args) -> None:
    # 3. SSE: connections held by one server, latency from commit to arrival
    with psycopg.connect(dsn, autocommit=True) as conn:
        members = [
            str(r[0])
            for r in conn.execute(
                "select id from auth.users where email like 'u%%@bench.test' order by email"
            ).fetchall()
        ]
    ready, achieved, n_sent, lost, p50, p99, cpu = asyncio.run(
        sse_latency(
            dsn,
            brand,
            members,
            min(args.connections, len(members)),
            args.rate,
            10 if not args.quick else 4,
            args.producers,
        )
    )
    table(
        ["SSE (brandbase realtime, one process)", "value", "target"],
        [
            ["streams held", f"{ready:,}", "1,000"],
            ["notifications sent / rate achieved", f"{n_sent:,} at {achieved:,.0f}/s", "200/s"],
            ["lost", f"{lost}", "0"],
            ["commit → event, p50", f"{p50:.1f} ms", "< 50 ms"],
            ["commit → event, p99", f"{p99:.1f} ms", "< 250 ms"],
            [
                "CPU of the server process / of this bench process (clients + producers)",
                f"{cpu[0]:.0%} / {cpu[1]:.0%} of a core",
                "",
            ],
        ],
    )
    full = ready >= 1000 and achieved >= 195 and lost == 0
    verdict(
        f"SSE: {ready:,} streams, {achieved:,.0f}/s, p50 < 50 ms",
        full and p50 < 50,
        f"p50 {p50:.1f} ms, lost {lost}",
    )
    verdict(
        f"SSE: {ready:,} streams, {achieved:,.0f}/s, p99 < 250 ms",
        full and p99 < 250,
        f"p99 {p99:.1f} ms",
    )


def digest_part(dsn: str, brand: str, args) -> None:
    # 4. the daily digest over SMTP
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from notify.notifications")
        t = time.perf_counter()
        for i in range(args.per_user):
            conn.execute(
                "select notify.send(%s, '{\"permission\": \"notifications.read\"}', 'digestible', %s, "
                "'a comment on your post')",
                (brand, f"digest item {i}"),
            )
        sends = time.perf_counter() - t
        conn.execute("vacuum analyze notify.notifications")
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            emails = conn.execute(
                "select notify.gather_due(now() + interval '1 day 1 minute')"
            ).fetchone()[0]
            gathered = time.perf_counter() - t0
        handler = notify_email.make_handler(
            dsn=dsn,
            provider=notify_email.SmtpProvider(port=port, timeout=30),
            sender="bench@example.test",
            threads=16,
        )
        worker = Worker(
            dsn,
            {notify_email.QUEUE: handler},
            concurrency=32,
            deliveries=0,
            poll=0.05,
            drain=True,
            housekeeping=False,
            log=lambda m: None,
        )
        asyncio.run(worker.run())
        total = time.perf_counter() - t0
    finally:
        sink.send_signal(signal.SIGTERM)
        accepted = int(sink.communicate(timeout=60)[0].strip().splitlines()[-1])
    with psycopg.connect(dsn, autocommit=True) as conn:
        sent = conn.execute("select count(*) from notify.emails where status = 'sent'").fetchone()[0]
        sample = conn.execute(
            "select notify.email_for_send(brand_id, id) from notify.emails order by id limit 1"
        ).fetchone()[0]
    # the floor: as many messages, rendered once up front, through smtplib (16 threads) to a
    # fresh sink of the same kind, in the same run
    floor_port = free_port()
    sink2 = subprocess.Popen(
        [sys.executable, "-c", SINK, str(floor_port)], stdout=subprocess.PIPE, text=True
    )
    assert sink2.stdout.readline().strip() == "ready"
    try:
        provider = notify_email.SmtpProvider(port=floor_port, timeout=30)
        msg = notify_email.build_message(sample, "bench@example.test")
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: provider.send(msg, str(i)), range(accepted)))
        floor_s = time.perf_counter() - t
    finally:
        sink2.send_signal(signal.SIGTERM)
        floor_accepted = int(sink2.communicate(timeout=60)[0].strip().splitlines()[-1])
    table(
        ["daily digest", "value"],
        [
            ["users × unread", f"{args.users:,} × {args.per_user}"],
            [f"{args.per_user} sends to every member (setup)", f"{sends:.1f} s"],
            ["notify.gather_due: emails written + jobs", f"{emails:,} in {gathered:.2f} s"],
            ["handed to the SMTP server (accepted)", f"{accepted:,}"],
            ["outbox rows sent", f"{sent:,}"],
            [
                "gather → last accepted",
                f"**{total:.1f} s** ({accepted / total:,.0f} emails/s; target < 60 s)",
            ],
            [
                "floor: as many pre-rendered messages, smtplib × 16 threads",
                f"{floor_accepted:,} in {floor_s:.1f} s ({floor_accepted / floor_s:,.0f} emails/s)",
            ],
        ],
    )
    verdict(
        f"digest of {args.users:,} users handed to SMTP < 60 s",
        total < 60 and args.users >= 10_000,
        f"{total:.1f} s (floor {floor_s:.1f} s)",
    )
    assert accepted == sent == emails == args.users + 1, (accepted, sent, emails)


if __name__ == "__main__":
    main()
