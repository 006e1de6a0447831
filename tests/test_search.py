"""Module search from Python: the operator CLI (stats, try, reindex), enable as the
non-superuser owner on a fresh clone, and a concurrent enable of the same table."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from tests.helpers import run_cli

OWNER_ID = "a0000000-0000-4000-8000-0000000000f1"
SETUP = """
create table public.posts (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    body text,
    published_at timestamptz not null default now(),
    primary key (brand_id, id)
);
grant select on public.posts to authenticated;
select brand.isolate('public.posts', 'content.read');
"""
ENABLE = """select search.enable('public.posts', '{"title": "A", "body": "B"}', 'english',
    '{"trigram": ["title"], "recency_column": "published_at"}')"""


@pytest.fixture
def acme(owner_dsn) -> tuple[str, str]:
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, 'owner@acme.test')", (OWNER_ID,))
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     (f'{{"sub": "{OWNER_ID}", "role": "authenticated"}}',))
        brand_id = str(conn.execute("select (brand.create_brand('acme', 'Acme')).id").fetchone()[0])
        conn.execute(SETUP)
        conn.execute("insert into public.posts (brand_id, id, title, body) select %s, g, "
                     "'Shipping update ' || g, 'parcels and elephants' from generate_series(1, 30) g",
                     (brand_id,))
        conn.execute(ENABLE)
    return owner_dsn, brand_id


def test_enable_is_idempotent_and_owned_by_the_table_owner(acme):
    dsn, _ = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = conn.execute("select count(*) from pg_indexes where tablename = 'posts'").fetchone()[0]
        conn.execute(ENABLE)
        after = conn.execute("select count(*) from pg_indexes where tablename = 'posts'").fetchone()[0]
        assert before == after == 4  # pkey, gin, recent, trgm
        superuser = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
        assert superuser is False
        owners = conn.execute("select distinct c.relowner::regrole::text from pg_index as i "
                              "join pg_class as c on c.oid = i.indexrelid "
                              "where i.indrelid = 'public.posts'::regclass").fetchall()
        assert owners == [(conn.execute("select current_user").fetchone()[0],)]
        conn.execute("""select search.enable('public.posts', '{"title": "A"}')""")  # a new definition
        assert conn.execute("select columns from search.indexed").fetchone()[0] == {"title": "A"}
        conn.execute("select search.disable('public.posts')")
        conn.execute("select search.disable('public.posts')")
        assert conn.execute("select count(*) from pg_indexes where tablename = 'posts'").fetchone()[0] == 1


def test_concurrent_enables_of_one_table(acme):
    dsn, _ = acme
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select search.disable('public.posts')")
    errors = []

    def enable():
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(ENABLE)
        except psycopg.Error as exc:  # pragma: no cover - the failure is the assertion
            errors.append(exc)

    threads = [threading.Thread(target=enable) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # DDL on one table serialises on its lock; the losers find the column and skip.
    assert not [e for e in errors if e.sqlstate not in ("42701",)], errors
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select count(*) from search.indexed").fetchone()[0] == 1


def test_cli_try_stats_reindex(acme):
    dsn, brand_id = acme
    out = run_cli("search", "try", "parcles", "--table", "public.posts", "--brand", "acme", "--dsn", dsn)
    assert out.returncode == 0, out.stderr
    assert "(typo fallback)" in out.stdout and "as owner@acme.test" in out.stdout
    out = run_cli("search", "try", "shipping", "--table", "public.posts", "--brand", brand_id, "--json",
                  "--limit", "3", "--dsn", dsn)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["total"] == 30 and len(answer["hits"]) == 3
    with psycopg.connect(dsn, autocommit=True) as conn:  # a try is rolled back, not logged
        assert conn.execute("select count(*) from search.queries").fetchone()[0] == 0
    out = run_cli("search", "stats", "--dsn", dsn)
    assert out.returncode == 0 and "public.posts: 30 rows" in out.stdout, out.stdout + out.stderr
    out = run_cli("search", "reindex", "public.posts", "--dsn", dsn)
    assert out.returncode == 0 and "3 indexes rebuilt" in out.stdout, out.stdout + out.stderr
    out = run_cli("search", "try", "x", "--table", "public.nope", "--brand", "acme", "--dsn", dsn)
    assert out.returncode == 1 and "does not exist" in out.stderr and "Traceback" not in out.stderr
