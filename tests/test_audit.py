"""The audit hash chain against real concurrent transactions, and tampering by a
superuser that audit.verify() must name entry by entry."""

from __future__ import annotations

import psycopg
import pytest
from tests.helpers import run_cli

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
    # A superuser can switch the append-only triggers off; the chain still notices.
    db.execute("set session_replication_role = replica")
    db.execute("update audit.logs set new_data = new_data || '{\"note\": \"forged\"}' where id = %s",
               (altered,))
    db.execute("delete from audit.logs where id = %s", (removed,))
    forged = db.execute(
        "insert into audit.logs (brand_id, occurred_at, table_name, record_key, operation, txid) "
        "values (%s, now() - interval '1 minute', 'public.items', '{\"id\": 999}', 'INSERT', 3) "
        "returning id", (brand_id,)).fetchone()[0]
    db.commit()
    assert problems(dsn, brand_id) == {
        (altered, "altered"), (removed, "removed"), (forged, "inserted out of band")}


def test_the_log_refuses_changes_from_its_owner(acme):
    dsn, _ = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in ("update audit.logs set operation = 'X'", "delete from audit.logs",
                    "truncate audit.logs"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)


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


def test_seal_moves_inbox_entries_to_the_sealed_log_keeping_their_ids(acme):
    dsn, brand_id = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = {r[0] for r in conn.execute(
            "select id from audit.logs_inbox where brand_id = %s", (brand_id,))}
        assert len(before) >= 22  # brand, membership, 20 items: all unsealed
        conn.execute("select audit.seal()")
        assert conn.execute("select count(*) from audit.logs_inbox where brand_id = %s",
                            (brand_id,)).fetchone()[0] == 0
        after = {r[0] for r in conn.execute(
            "select id from audit.logs_sealed where brand_id = %s and sealed", (brand_id,))}
        chained = {r[0] for r in conn.execute(
            "select entry_id from audit.chain where brand_id = %s", (brand_id,))}
        # Only the sealer may remove inbox entries, and only sealed ones.
        conn.execute("insert into public.items values (%s, 500, 'late')", (brand_id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("delete from audit.logs_inbox")
    assert before == after == chained
    assert problems(dsn, brand_id) == set()
