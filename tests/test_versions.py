"""Version numbers against real concurrent transactions: numbered where the order of
change is known (by the sealer, in capture order, once every earlier capture is visible),
gap-free, and the same before and after sealing; faults of the sealer."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from tests.test_audit import kill_mid_round

OWNER_ID = "a0000000-0000-4000-8000-000000000002"


@pytest.fixture
def acme(owner_dsn) -> tuple[str, str]:
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, 'o@acme.test')", (OWNER_ID,))
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     (f'{{"sub": "{OWNER_ID}", "role": "authenticated"}}',))
        brand_id = conn.execute("select (brand.create_brand('acme', 'Acme')).id").fetchone()[0]
        conn.execute("create table public.pages (brand_id uuid references brand.brands (id), "
                     "id int, n int not null, body text, primary key (brand_id, id))")
        conn.execute("select versions.track('public.pages')")
        conn.execute("insert into public.pages values (%s, 1, 0, 'first')", (brand_id,))
    return owner_dsn, str(brand_id)


def history(conn: psycopg.Connection, brand_id: str, page: int = 1) -> list[tuple]:
    return conn.execute(
        "select version, operation, data ->> 'n', data ->> 'body' from versions.content_versions "
        "where brand_id = %s and table_name = 'public.pages' and record_key ->> 'id' = %s order by version",
        (brand_id, str(page))).fetchall()


def test_pending_versions_have_their_final_numbers(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update public.pages set n = 1 where brand_id = %s", (brand_id,))
        conn.execute("update public.pages set n = n where brand_id = %s", (brand_id,))  # no version
        conn.execute("delete from public.pages where brand_id = %s", (brand_id,))
        conn.execute("insert into public.pages values (%s, 1, 2, 'again')", (brand_id,))
        pending = history(conn, brand_id)
        assert conn.execute("select count(*) from versions.sealed_versions").fetchone()[0] == 0
        assert conn.execute("select versions.seal()").fetchone()[0] == 4
        assert conn.execute("select count(*) from versions.captures").fetchone()[0] == 0
        assert history(conn, brand_id) == pending == [
            (1, "INSERT", "0", "first"), (2, "UPDATE", "1", "first"), (3, "DELETE", "1", "first"),
            (4, "INSERT", "2", "again")]
        conn.execute("update public.pages set n = 3 where brand_id = %s", (brand_id,))
        assert history(conn, brand_id)[-1] == (5, "UPDATE", "3", "again")  # after sealed ones


def test_a_later_change_from_an_older_transaction_is_numbered_after(acme):
    """Transaction ids do not give the order of change: an older transaction can change a
    record after a younger one committed its change. Numbers follow the change."""
    dsn, brand_id = acme
    older = psycopg.connect(dsn)
    older.execute("select pg_current_xact_id()")  # the older transaction id
    between = psycopg.connect(dsn)
    between.execute("select pg_current_xact_id()")  # stays open across the first seal
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update public.pages set n = 1, body = 'younger' where brand_id = %s", (brand_id,))
        older.execute("update public.pages set n = 2, body = 'older' where brand_id = %s", (brand_id,))
        older.commit()
        expected = [(1, "INSERT", "0", "first"), (2, "UPDATE", "1", "younger"), (3, "UPDATE", "2", "older")]
        assert history(conn, brand_id) == expected
        conn.execute("select versions.seal()")  # `between` is still open: its captures could come
        assert history(conn, brand_id) == expected
        between.commit()
        conn.execute("select versions.seal()")
        conn.execute("select versions.seal()")
        assert conn.execute("select count(*) from versions.captures").fetchone()[0] == 0
        assert history(conn, brand_id) == expected
    older.close()
    between.close()


def test_concurrent_writers_and_sealers_number_gap_free_in_order(acme):
    dsn, brand_id = acme
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for _ in range(40):
                    conn.execute("update public.pages set n = n + 1 where brand_id = %s and id = 1",
                                 (brand_id,))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def sealer() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for _ in range(30):
                    conn.execute("select versions.seal()")
                    time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select versions.seal()")
        rows = history(conn, brand_id)
        assert conn.execute("select count(*) from versions.captures").fetchone()[0] == 0
    # Version k holds n = k - 1: every change numbered once, in the order it happened.
    assert [(v, int(n)) for v, _, n, _ in rows] == [(k, k - 1) for k in range(1, 122)]


def test_a_sealer_killed_mid_round_loses_and_duplicates_nothing(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into public.pages select %s, g, 0, 'bulk' from generate_series(2, 3001) g",
                     (brand_id,))
        conn.execute("update public.pages set n = 1 where brand_id = %s", (brand_id,))
        before = conn.execute("select count(*), sum(version) from versions.content_versions").fetchone()
    kill_mid_round(dsn, "select versions.seal()", "versions.captures")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select count(*) from versions.sealed_versions").fetchone()[0] == 0
        counted = "select count(*), sum(version) from versions.{}"
        assert conn.execute(counted.format("content_versions")).fetchone() == before
        assert conn.execute("select versions.seal()").fetchone()[0] == before[0] == 6002
        assert conn.execute(counted.format("sealed_versions")).fetchone() == before


def test_a_table_altered_between_capture_and_sealing_is_sealed_as_captured(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update public.pages set n = 1 where brand_id = %s", (brand_id,))
        conn.execute("alter table public.pages drop column body")
        conn.execute("update public.pages set n = 2 where brand_id = %s", (brand_id,))
        conn.execute("alter table public.pages add column extra text default 'x'")
        conn.execute("update public.pages set n = 3 where brand_id = %s", (brand_id,))
        query = ("select version, data - 'brand_id' from versions.content_versions "
                 "where brand_id = %s order by version")
        pending = conn.execute(query, (brand_id,)).fetchall()
        conn.execute("select versions.seal()")
        assert conn.execute(query, (brand_id,)).fetchall() == pending == [
            (1, {"id": 1, "n": 0, "body": "first"}), (2, {"id": 1, "n": 1, "body": "first"}),
            (3, {"id": 1, "n": 2}), (4, {"id": 1, "n": 3, "extra": "x"})]


def test_restore_and_at_see_pending_versions(acme):
    dsn, brand_id = acme
    key = f'{{"brand_id": "{brand_id}", "id": 1}}'
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update public.pages set n = 1, body = 'second' where brand_id = %s", (brand_id,))
        assert conn.execute("select count(*) from versions.sealed_versions").fetchone()[0] == 0
        assert conn.execute("select versions.at('public.pages', %s, now()) ->> 'body'",
                            (key,)).fetchone()[0] == "second"
        assert conn.execute("select versions.restore('public.pages', %s, 1)", (key,)).fetchone()[0] == 3
        assert conn.execute("select body from public.pages where brand_id = %s",
                            (brand_id,)).fetchone()[0] == "first"
        assert conn.execute("select versions.publish('public.pages', %s, 2)", (key,)).fetchone()[0] == 2
        conn.execute("select versions.seal()")
        assert [r[0] for r in history(conn, brand_id)] == [1, 2, 3]
        assert conn.execute("select versions.get('public.pages', %s, 3) ->> 'body'",
                            (key,)).fetchone()[0] == "first"


def test_retention_prunes_sealed_versions_only(acme):
    dsn, brand_id = acme
    key = f'{{"brand_id": "{brand_id}", "id": 1}}'
    with psycopg.connect(dsn, autocommit=True) as conn:
        for n in range(1, 5):
            conn.execute("update public.pages set n = %s where brand_id = %s", (n, brand_id))
        conn.execute("select versions.publish('public.pages', %s, 2)", (key,))
        conn.execute("select versions.track('public.pages', keep_last => 2)")
        assert conn.execute("select versions.prune()").fetchone()[0] == 0  # all pending
        assert conn.execute("select versions.seal()").fetchone()[0] == 5
        conn.execute("update public.pages set n = 9 where brand_id = %s", (brand_id,))  # pending: 6
        assert conn.execute("select versions.prune()").fetchone()[0] == 2
        assert [r[0] for r in history(conn, brand_id)] == [2, 4, 5, 6]  # published, last two sealed, pending
