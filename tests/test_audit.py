"""The audit hash chain against real concurrent transactions, and tampering by a
superuser that audit.verify() must name entry by entry."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest
from tests.helpers import previous_release, run_cli

OWNER_ID = "a0000000-0000-4000-8000-000000000001"


@pytest.fixture
def acme(owner_dsn) -> tuple[str, str]:
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, 'o@acme.test')", (OWNER_ID,))
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     (f'{{"sub": "{OWNER_ID}", "role": "authenticated"}}',))
        brand_id = conn.execute("select (brand.create_brand('acme', 'Acme')).id").fetchone()[0]
        conn.execute("create table public.items (brand_id uuid references brand.brands (id), "
                     "id int, note text, primary key (brand_id, id))")
        conn.execute("select audit.track('public.items')")
        conn.execute("insert into public.items select %s, g, 'n' || g from generate_series(1, 20) g",
                     (brand_id,))
    return owner_dsn, str(brand_id)


def problems(dsn: str, brand_id: str) -> set[tuple[int, str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {(r[0], r[1]) for r in conn.execute("select entry_id, problem from audit.verify(%s)",
                                                      (brand_id,))}


def test_seal_then_verify_finds_an_intact_log(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        sealed = conn.execute("select audit.seal()").fetchone()[0]
        assert sealed >= 22  # brand, membership, 20 items
        assert conn.execute("select audit.seal()").fetchone()[0] == 0  # nothing new
        head = conn.execute("select seq from audit.head(%s)", (brand_id,)).fetchone()[0]
    assert head == sealed
    assert problems(dsn, brand_id) == set()


def test_a_transaction_still_open_during_a_seal_is_sealed_later_not_reported(acme):
    dsn, brand_id = acme
    slow = psycopg.connect(dsn)
    slow.execute("insert into public.items values (%s, 100, 'slow')", (brand_id,))  # stays open
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into public.items values (%s, 101, 'fast')", (brand_id,))
        conn.execute("select audit.seal()")
        assert problems(dsn, brand_id) == set()
        slow.commit()
        slow.close()
        conn.execute("select audit.seal()")
        sealed_ids = {r[0] for r in conn.execute(
            "select entry_id from audit.chain where brand_id = %s", (brand_id,))}
        logged_ids = {r[0] for r in conn.execute(
            "select id from audit.logs where brand_id = %s", (brand_id,))}
    assert sealed_ids == logged_ids
    assert problems(dsn, brand_id) == set()


def test_tampering_by_a_superuser_is_named_entry_by_entry(acme, db):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select audit.seal()")
        altered, removed = [r[0] for r in conn.execute(
            "select id from audit.logs where table_name = 'public.items' and brand_id = %s "
            "order by id limit 2", (brand_id,))]
        # Not sealed yet, and not tampered with: never reported.
        conn.execute("update public.items set note = 'pending' where brand_id = %s and id = 20",
                     (brand_id,))
    # A superuser can switch the append-only triggers off; the chain still notices.
    db.execute("set session_replication_role = replica")
    db.execute("update audit.logs_sealed set new_data = new_data || '{\"note\": \"forged\"}' "
               "where id = %s", (altered,))
    db.execute("delete from audit.logs_sealed where id = %s", (removed,))
    forged = db.execute(
        "insert into audit.entries (brand_id, occurred_at, table_name, record_key, operation, txid) "
        "values (%s, now() - interval '1 minute', 'public.items', '{\"id\": 999}', 'INSERT', 3) "
        "returning id", (brand_id,)).fetchone()[0]
    # A capture forged into a transaction already sealed: each of its entries is named.
    capture = db.execute(
        "insert into audit.captures (txid, occurred_at, table_name, operation, brand_column, key_columns, "
        "skip_noop_updates, new_rows) values (4, now(), 'public.items', 'INSERT', 'brand_id', "
        "'{brand_id,id}', true, json_build_array(json_build_object('brand_id', %s::uuid, 'id', 998), "
        "json_build_object('brand_id', %s::uuid, 'id', 997))) returning id",
        (brand_id, brand_id)).fetchone()[0]
    db.commit()
    assert problems(dsn, brand_id) == {
        (altered, "altered"), (removed, "removed"), (forged, "inserted out of band"),
        (capture * 2**20, "inserted out of band"), (capture * 2**20 + 1, "inserted out of band")}


def test_the_log_refuses_changes_from_its_owner(acme):
    dsn, _ = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in ("update audit.logs set operation = 'X'", "delete from audit.logs",
                    "truncate audit.entries", "truncate audit.captures", "delete from audit.captures",
                    "update audit.captures set operation = 'X'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
        with pytest.raises(psycopg.errors.WrongObjectType):  # a view: nothing to truncate
            conn.execute("truncate audit.logs")


def test_cli_tail_show_seal_verify(acme):
    dsn, brand_id = acme
    tail = run_cli("audit", "tail", "--dsn", dsn, "--brand", brand_id, "-n", "5")
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.count("public.items") == 5
    entry_id = tail.stdout.split()[0]
    show = run_cli("audit", "show", entry_id, "--dsn", dsn)
    assert show.returncode == 0 and '"table_name": "public.items"' in show.stdout
    assert "sealed" in run_cli("audit", "seal", "--dsn", dsn).stdout
    verify = run_cli("audit", "verify", "--dsn", dsn, "--brand", brand_id)
    assert verify.returncode == 0 and "intact" in verify.stdout


def test_seal_turns_captures_into_sealed_entries_keeping_their_ids(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = {r[0] for r in conn.execute(
            "select id from audit.logs where brand_id = %s and not sealed", (brand_id,))}
        assert len(before) >= 22  # brand, membership, 20 items: all unsealed
        conn.execute("select audit.seal()")
        assert conn.execute("select count(*) from audit.logs where brand_id = %s and not sealed",
                            (brand_id,)).fetchone()[0] == 0
        assert conn.execute("select count(*) from audit.captures").fetchone()[0] == 0
        after = {r[0] for r in conn.execute(
            "select id from audit.logs_sealed where brand_id = %s and sealed", (brand_id,))}
        chained = {r[0] for r in conn.execute(
            "select entry_id from audit.chain where brand_id = %s", (brand_id,))}
        # Only the sealer may remove captures, and only sealed ones.
        conn.execute("insert into public.items values (%s, 500, 'late')", (brand_id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("delete from audit.captures")
    assert before == after == chained
    assert problems(dsn, brand_id) == set()


def test_a_pending_entry_reads_as_it_will_be_sealed(acme):
    """Every read path shows an unsealed entry with its final id and content."""
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select audit.seal()")
        conn.execute("update public.items set note = 'changed' where brand_id = %s and id <= 3", (brand_id,))
        conn.execute("update public.items set note = note where brand_id = %s and id = 4", (brand_id,))
        query = ("select id, occurred_at, table_name, record_key, operation, old_data, new_data, actor_id, "
                 "actor_role, txid, request_id, client_ip from audit.logs where brand_id = %s "
                 "and operation = 'UPDATE' order by id")
        pending = conn.execute(query, (brand_id,)).fetchall()
        assert [(r[3]["id"], r[5], r[6]) for r in pending] == [
            (i, {"note": f"n{i}"}, {"note": "changed"}) for i in (1, 2, 3)]  # the no-op made none
        show = run_cli("audit", "show", str(pending[0][0]), "--dsn", dsn)
        assert show.returncode == 0 and '"sealed": false' in show.stdout
        conn.execute("select audit.seal()")
        assert conn.execute(query, (brand_id,)).fetchall() == pending
        assert conn.execute("select count(*) from audit.captures").fetchone()[0] == 0
    assert problems(dsn, brand_id) == set()


def test_the_sealer_stores_what_readers_saw_pending_for_every_kind_of_row(acme):
    """Multi-row inserts, updates with no-op rows and changes of excluded columns only, and
    deletes, in two brands: the sealed entries are exactly the pending ones (ids, keys,
    changed columns), and each seal holds audit.entry_hash() of its entry (issue 16: the
    sealer parses each row once and hashes through an inlined helper)."""
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     (f'{{"sub": "{OWNER_ID}", "role": "authenticated"}}',))
        other = conn.execute("select (brand.create_brand('bolt', 'Bolt')).id").fetchone()[0]
        conn.execute("create table public.notes (brand_id uuid references brand.brands (id), id int, "
                     "title text, body text, secret text, primary key (brand_id, id))")
        conn.execute("select audit.track('public.notes', exclude_columns => array['secret'])")
        conn.execute("insert into public.notes select b, g, 'note ' || g, repeat('x', g), 's' "
                     "from generate_series(1, 6) g, unnest(array[%s, %s]::uuid[]) b", (brand_id, other))
        conn.execute("update public.notes set title = title || '!' where id <= 3")
        conn.execute("update public.notes set body = body where id = 4")
        conn.execute("update public.notes set secret = 'changed' where id = 5")
        conn.execute("delete from public.notes where id = 6 and brand_id = %s", (other,))
        query = ("select brand_id, id, record_key, operation, old_data, new_data, actor_id, actor_role, txid "
                 "from audit.logs where table_name = 'public.notes' order by id")
        pending = conn.execute(query).fetchall()
        assert len(pending) == 12 + 6 + 1  # inserts, real updates (no-op rows made none), the delete
        first = next(r for r in pending if r[3] == "UPDATE" and str(r[0]) == brand_id and r[2]["id"] == 1)
        assert (first[4], first[5]) == ({"title": "note 1"}, {"title": "note 1!"})
        assert not any("secret" in (r[4] or {}) or "secret" in (r[5] or {}) for r in pending)
        assert conn.execute("select audit.seal()").fetchone()[0] >= len(pending)
        assert conn.execute(query).fetchall() == pending
        assert conn.execute("select count(*) from audit.logs where table_name = 'public.notes' and not sealed"
                            ).fetchone()[0] == 0
        assert conn.execute(
            "select count(*) from audit.chain as c join audit.logs as l "
            "on c.brand_id = l.brand_id and c.entry_id = l.id "
            "where l.table_name = 'public.notes' and c.entry_hash = audit.entry_hash(l)").fetchone()[0] == 19
    assert problems(dsn, brand_id) == set()
    assert problems(dsn, str(other)) == set()


def test_a_table_altered_between_capture_and_sealing_is_sealed_as_captured(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update public.items set note = 'before' where brand_id = %s and id = 1", (brand_id,))
        conn.execute("alter table public.items add column extra int default 7")
        conn.execute("update public.items set note = 'added' where brand_id = %s and id = 1", (brand_id,))
        conn.execute("alter table public.items drop column note")
        conn.execute("update public.items set extra = 8 where brand_id = %s and id = 1", (brand_id,))
        conn.execute("delete from public.items where brand_id = %s and id = 2", (brand_id,))
        query = ("select operation, old_data, new_data from audit.logs where brand_id = %s and "
                 "table_name = 'public.items' and record_key ->> 'id' in ('1', '2') "
                 "and operation <> 'INSERT' order by id")
        before = conn.execute(query, (brand_id,)).fetchall()
        conn.execute("select audit.seal()")
        after = conn.execute(query, (brand_id,)).fetchall()
    assert before == after == [
        ("UPDATE", {"note": "n1"}, {"note": "before"}),
        ("UPDATE", {"note": "before"}, {"note": "added"}),
        ("UPDATE", {"extra": 7}, {"extra": 8}),
        ("DELETE", {"brand_id": brand_id, "id": 2, "extra": 7}, None),
    ]
    assert problems(dsn, brand_id) == set()


def _swallow(conn: psycopg.Connection, query: str) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute(query)


def kill_mid_round(dsn: str, seal: str, table: str) -> None:
    """Runs the sealer until it waits on `table` (held in SHARE mode, which its DELETE
    needs to pass), i.e. after it has stored everything, and kills it there."""
    blocker = psycopg.connect(dsn)
    blocker.execute(f"lock table {table} in share mode")
    sealer = psycopg.connect(dsn, autocommit=True)
    pid = sealer.info.backend_pid
    thread = threading.Thread(target=_swallow, args=(sealer, seal))
    thread.start()
    with psycopg.connect(dsn, autocommit=True) as conn:
        waiting = False
        for _ in range(400):
            waiting = conn.execute("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                                   (pid,)).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the sealer never reached its delete"
        assert conn.execute("select pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    thread.join(10)
    blocker.rollback()
    blocker.close()


def test_a_sealer_killed_mid_round_loses_and_duplicates_nothing(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into public.items select %s, g, 'bulk' from generate_series(1000, 5999) g",
                     (brand_id,))
        expected = conn.execute("select count(*) from audit.logs where brand_id = %s",
                                (brand_id,)).fetchone()[0]
        chained = conn.execute("select count(*) from audit.chain").fetchone()[0]
    kill_mid_round(dsn, "select audit.seal()", "audit.captures")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select count(*) from audit.chain").fetchone()[0] == chained
        assert conn.execute("select count(*) from audit.logs where brand_id = %s",
                            (brand_id,)).fetchone()[0] == expected
        conn.execute("select audit.seal()")
        ids = [r[0] for r in conn.execute("select id from audit.logs where brand_id = %s", (brand_id,))]
        assert len(ids) == len(set(ids)) == expected
        assert conn.execute("select count(*) from audit.chain where brand_id = %s",
                            (brand_id,)).fetchone()[0] == expected
        assert conn.execute("select count(*) from audit.logs where not sealed").fetchone()[0] == 0
    assert problems(dsn, brand_id) == set()


def test_concurrent_writers_and_sealers(acme):
    dsn, brand_id = acme
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for i in range(60):
                    key = 10_000 + n * 1000 + i
                    conn.execute("insert into public.items values (%s, %s, 'w')", (brand_id, key))
                    conn.execute("update public.items set note = 'x' || %s where brand_id = %s and id = %s",
                                 (i, brand_id, key))
                    if i % 5 == 0:
                        with conn.transaction():
                            conn.execute("update public.items set note = 'tx' "
                                         "where brand_id = %s and id = %s", (brand_id, key))
                            conn.execute("delete from public.items where brand_id = %s and id = %s",
                                         (brand_id, key))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def sealer() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for _ in range(25):
                    conn.execute("select audit.seal()")
                    time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select audit.seal()")
        ids = [r[0] for r in conn.execute("select id from audit.logs where brand_id = %s", (brand_id,))]
        chained = [r[0] for r in conn.execute("select entry_id from audit.chain where brand_id = %s",
                                              (brand_id,))]
        writes = conn.execute("select count(*) from audit.logs where brand_id = %s and table_name = "
                              "'public.items' and (record_key ->> 'id')::int >= 10000",
                              (brand_id,)).fetchone()[0]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(chained)
    assert writes == 3 * (60 * 2 + 12 * 2)  # insert + update each; update + delete every fifth
    assert problems(dsn, brand_id) == set()


def test_an_entry_left_in_the_inbox_by_the_previous_release_is_sealed(acme):
    """Upgrades: entries the previous release left in the inbox are sealed by the next round."""
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        legacy = conn.execute(
            "insert into audit.entries (brand_id, occurred_at, table_name, record_key, operation, new_data) "
            "values (%s, now(), 'public.items', '{\"id\": 1}', 'INSERT', '{\"id\": 1}') returning id",
            (brand_id,)).fetchone()[0]
        assert conn.execute("select count(*) from audit.logs_inbox where id = %s",
                            (legacy,)).fetchone()[0] == 1
        conn.execute("select audit.seal()")
        assert conn.execute("select count(*) from audit.logs_inbox").fetchone()[0] == 0
        assert conn.execute("select sealed from audit.logs where id = %s", (legacy,)).fetchone()[0]
        assert conn.execute("select count(*) from audit.chain where entry_id = %s",
                            (legacy,)).fetchone()[0] == 1
    assert problems(dsn, brand_id) == set()


def test_upgrading_from_the_previous_release_keeps_every_entry_and_version(new_database, tmp_path):
    """The pack as it was before 0028, with sealed entries, inbox entries and versions, then
    upgraded: nothing is lost, renumbered or reported, and capture goes on raw."""
    from brandbase import migrate, pack

    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, previous_release(tmp_path))
        brand_id = conn.execute("insert into brand.brands (slug, name) values ('up', 'Up') "
                                "returning id").fetchone()[0]
        conn.execute("create table public.docs (brand_id uuid references brand.brands (id), id int, "
                     "body text, primary key (brand_id, id))")
        conn.execute("select audit.track('public.docs')")
        conn.execute("select versions.track('public.docs')")
        conn.execute("insert into public.docs select %s, g, 'v1' from generate_series(1, 5) g", (brand_id,))
        conn.execute("select audit.seal()")
        conn.execute("update public.docs set body = 'v2' where brand_id = %s", (brand_id,))  # left unsealed
        before = conn.execute("select id, operation, old_data, new_data, sealed from audit.logs "
                              "where brand_id = %s order by id", (brand_id,)).fetchall()
        versions_before = conn.execute("select record_key, version, data from versions.content_versions "
                                       "order by 1, 2").fetchall()
        assert any(not r[4] for r in before) and any(r[4] for r in before)

        migrate.migrate(conn, pack.load())
        assert conn.execute("select id, operation, old_data, new_data, sealed from audit.logs "
                            "where brand_id = %s order by id", (brand_id,)).fetchall() == before
        assert conn.execute("select record_key, version, data from versions.content_versions "
                            "order by 1, 2").fetchall() == versions_before
        assert conn.execute("select count(*) from audit.verify(%s)", (brand_id,)).fetchone()[0] == 0
        conn.execute("update public.docs set body = 'v3' where brand_id = %s and id = 1", (brand_id,))
        assert conn.execute("select count(*) from audit.captures").fetchone()[0] == 1
        newest = conn.execute("select max(id) from audit.logs where brand_id = %s", (brand_id,)).fetchone()[0]
        assert newest > max(r[0] for r in before)
        conn.execute("select audit.seal()")
        assert conn.execute("select count(*) from audit.logs_inbox").fetchone()[0] == 0
        assert conn.execute("select count(*) from audit.logs where not sealed").fetchone()[0] == 0
        assert conn.execute("select count(*) from audit.verify(%s)", (brand_id,)).fetchone()[0] == 0
        assert conn.execute("select max(version) from versions.content_versions "
                            "where record_key ->> 'id' = '1'").fetchone()[0] == 3
        conn.execute("select versions.seal()")
        assert conn.execute("select count(*) from versions.captures").fetchone()[0] == 0
        assert conn.execute("select version, data ->> 'body' from versions.sealed_versions "
                            "where record_key ->> 'id' = '1' order by 1").fetchall() == [
            (1, "v1"), (2, "v2"), (3, "v3")]
