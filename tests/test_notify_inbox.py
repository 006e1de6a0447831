"""Module notify, the inbox under concurrency and membership changes: two marks of one inbox
at once never count twice (the inbox row's lock orders them; each reads what the other
committed), and a member's notifications go with the member (the inbox row takes them
along: notifications check no foreign key per row)."""

from __future__ import annotations

import threading
import time

import psycopg
from psycopg.types.json import Jsonb


def seed(dsn: str) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select tests.seed_two_brands()")
        ids = {b: conn.execute("select tests.brand(%s)::text", (b,)).fetchone()[0] for b in ("acme", "bolt")}
        for h in ("viewer@acme", "member@acme", "viewer@bolt"):
            ids[h] = conn.execute("select tests.uid(%s)::text", (h,)).fetchone()[0]
    return ids


def send(conn, brand: str, users: list[str], n: int) -> None:
    for i in range(n):
        conn.execute("select notify.send(%s, %s, 'system', %s)", (brand, Jsonb(users), f"n{i}"))


def as_user(conn, user: str) -> None:
    conn.execute("select tests.authenticate_as(%s)", (user,))


def counters(conn, brand: str, user: str) -> tuple:
    return conn.execute(
        "select unread, unseen, by_category from notify.inboxes where brand_id = %s and user_id = %s",
        (brand, user),
    ).fetchone()


def recount(conn, brand: str, user: str) -> tuple:
    return conn.execute(
        "select count(*) filter (where read_at is null and archived_at is null), "
        "count(*) filter (where seen_at is null and archived_at is null) "
        "from notify.notifications where brand_id = %s and user_id = %s and in_app",
        (brand, user),
    ).fetchone()


def race(dsn: str, brand: str, user: str, first: str, second: str) -> tuple[int, int]:
    """`first` marks everything in an open transaction; `second` starts meanwhile (and waits
    for the inbox row), then `first` commits. Returns how many each changed."""
    a = psycopg.connect(dsn)
    b = psycopg.connect(dsn)
    try:
        as_user(a, user)
        changed_a = a.execute("select api.mark_notifications(%s, null, %s)", (brand, first)).fetchone()[0]
        result = {}

        def run_b():
            as_user(b, user)
            mark = "select api.mark_notifications(%s, null, %s)"
            result["b"] = b.execute(mark, (brand, second)).fetchone()[0]
            b.commit()

        t = threading.Thread(target=run_b)
        t.start()
        time.sleep(0.5)
        assert t.is_alive(), "the second mark waits for the first"
        a.commit()
        t.join(30)
        return changed_a, result["b"]
    finally:
        a.close()
        b.close()


def test_two_concurrent_mark_all_read_count_once(owner_dsn):
    ids = seed(owner_dsn)
    brand, user = ids["acme"], ids["viewer@acme"]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, brand, [user], 5)
    assert race(owner_dsn, brand, user, "read", "read") == (5, 0)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        assert counters(conn, brand, user)[:2] == (0, 0) == recount(conn, brand, user)


def test_seen_then_read_at_once_counts_each_notification_once(owner_dsn):
    ids = seed(owner_dsn)
    brand, user = ids["acme"], ids["viewer@acme"]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, brand, [user], 4)
    assert race(owner_dsn, brand, user, "seen", "read") == (4, 4)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        assert counters(conn, brand, user)[:2] == (0, 0) == recount(conn, brand, user)
        assert counters(conn, brand, user)[2] == {}
    # and back: unread and archived at once
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, brand, [user], 2)
    assert race(owner_dsn, brand, user, "unread", "archived") == (4, 6)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        assert counters(conn, brand, user)[:2] == (0, 0) == recount(conn, brand, user)


def test_marking_seen_then_read_in_one_transaction_counts_once(owner_dsn):
    """The same instant (brandbase.now() is the transaction's): read after seen must not
    take the unseen counter below what the rows say."""
    ids = seed(owner_dsn)
    brand, user = ids["acme"], ids["viewer@acme"]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, brand, [user], 3)
    with psycopg.connect(owner_dsn) as conn:
        as_user(conn, user)
        ids_ = [r[0] for r in conn.execute("select id from api.notifications order by id").fetchall()]
        seen = conn.execute("select api.mark_notifications(%s, %s, 'seen')", (brand, ids_[:1]))
        assert seen.fetchone()[0] == 1
        assert conn.execute("select api.mark_notifications(%s, null, 'read')", (brand,)).fetchone()[0] == 3
        conn.commit()
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        assert counters(conn, brand, user)[:2] == (0, 0) == recount(conn, brand, user)


def test_a_member_leaving_takes_their_notifications_along_and_nobody_elses(owner_dsn):
    ids = seed(owner_dsn)
    acme, bolt = ids["acme"], ids["bolt"]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, acme, [ids["viewer@acme"], ids["member@acme"]], 3)
        send(conn, bolt, [ids["viewer@bolt"]], 2)
        conn.execute(
            "delete from brand.members where brand_id = %s and user_id = %s", (acme, ids["viewer@acme"])
        )
        left = conn.execute(
            "select user_id::text, count(*) from notify.notifications group by 1"
        ).fetchall()
        assert dict(left) == {ids["member@acme"]: 3, ids["viewer@bolt"]: 2}
        assert conn.execute(
            "select count(*) from notify.inboxes where user_id = %s", (ids["viewer@acme"],)
        ).fetchone()[0] == 0
        # a user deleted: every brand's notifications of theirs go
        conn.execute("delete from auth.users where id = %s", (ids["viewer@bolt"],))
        assert conn.execute(
            "select count(*) from notify.notifications where user_id = %s", (ids["viewer@bolt"],)
        ).fetchone()[0] == 0
        # a brand deleted: all of its notifications go
        conn.execute("delete from brand.brands where id = %s", (acme,))
        assert conn.execute("select count(*) from notify.notifications").fetchone()[0] == 0


def test_a_send_racing_a_member_leaving_leaves_no_orphan(owner_dsn):
    """The send locks the recipient's inbox row (its foreign key proves the membership): a
    member deleted meanwhile waits, then takes the new notification along too."""
    ids = seed(owner_dsn)
    acme, user = ids["acme"], ids["viewer@acme"]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        send(conn, acme, [user], 1)
    a = psycopg.connect(owner_dsn)
    try:
        send(a, acme, [user], 1)  # open: the inbox row is locked
        done = threading.Event()

        def leave():
            with psycopg.connect(owner_dsn, autocommit=True) as b:
                b.execute("delete from brand.members where brand_id = %s and user_id = %s", (acme, user))
            done.set()

        t = threading.Thread(target=leave)
        t.start()
        assert not done.wait(0.5), "the delete waits for the send"
        a.commit()
        t.join(30)
    finally:
        a.close()
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        assert conn.execute(
            "select count(*) from notify.notifications where user_id = %s", (user,)
        ).fetchone()[0] == 0
