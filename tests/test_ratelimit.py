"""GCRA under real concurrency: 16 clients hammering one key get exactly the limit."""

from __future__ import annotations

import concurrent.futures

import psycopg
from tests.helpers import previous_release


def test_sixteen_clients_on_one_key_never_exceed_the_limit(owner_dsn):
    def hammer(_: int) -> int:
        allowed = 0
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            for _ in range(25):
                allowed += conn.execute(
                    "select allowed from ratelimit.check('hot', 1, '1 hour', 49)").fetchone()[0]
        return allowed

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        total = sum(pool.map(hammer, range(16)))
    assert total == 50  # burst 49 + 1, and no refill within the hour: 400 tries, 50 allowed


def test_attempts_survive_rollback_and_stay_bounded_under_concurrency(owner_dsn):
    """ratelimit.attempt() counts in an unlogged sequence: 16 clients whose every attempt
    is rolled back still get refused once the slot's capacity (4 x (burst + 1) = 48) is
    spent; racing can let through at most one extra attempt per client."""
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("update ratelimit.policies set rate = 1, period = '1 hour', burst = 11 "
                     "where api_role = 'anon'")

    def hammer(_: int) -> int:
        allowed = 0
        with psycopg.connect(owner_dsn) as conn:
            for _ in range(25):
                allowed += conn.execute(
                    "select allowed from ratelimit.attempt('anon', 'ip:203.0.113.9')").fetchone()[0]
                conn.rollback()
        return allowed

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        total = sum(pool.map(hammer, range(16)))
    assert 48 <= total <= 48 + 16, total


def test_exact_under_concurrency_for_a_rate_that_does_not_divide_its_period(owner_dsn):
    """7 per hour (T = 514,285,714 2/7 µs), burst 48, cost 7: 16 clients racing get exactly
    7 requests of cost 7 (the burst capacity 49 over the cost), and nothing refills within
    the hour."""
    def hammer(_: int) -> int:
        allowed = 0
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            for _ in range(10):
                allowed += conn.execute(
                    "select allowed from ratelimit.check('hot7', 7, '1 hour', 48, 7)").fetchone()[0]
        return allowed

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        total = sum(pool.map(hammer, range(16)))
    assert total == 7
    with psycopg.connect(owner_dsn) as conn:
        rem, den = conn.execute("select rem, den from ratelimit.buckets where key = 'hot7'").fetchone()
    assert den == 7 and 0 <= rem < 7


def test_state_written_before_exact_gcra_upgrades_exactly(new_database, tmp_path):
    """Buckets written under the truncating limiter (whole microseconds, no remainder) keep
    their TAT through migration 0029, and count on exactly at their rate."""
    from brandbase import migrate, pack

    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, previous_release(tmp_path))
        assert conn.execute("select count(*) from information_schema.columns where table_schema = "
                            "'ratelimit' and table_name = 'buckets' and column_name = 'rem'"
                            ).fetchone()[0] == 0
        conn.execute("insert into ratelimit.buckets (key, tat) values ('old', "
                     "(extract(epoch from timestamptz '2030-01-01 00:00:00.5+00') * 1000000)::bigint)")
        migrate.migrate(conn, pack.load())
        with conn.transaction():
            conn.execute("select set_config('brandbase.frozen_now', '2030-01-01 00:00:00+00', true)")
            refused = conn.execute("select allowed, reset_after, retry_after "
                                   "from ratelimit.check('old', 5, '1 second', 2)").fetchone()
            conn.execute("select set_config('brandbase.frozen_now', '2030-01-01 00:00:00.1+00', true)")
            passed = conn.execute("select allowed, remaining from ratelimit.check('old', 5, '1 second', 2)"
                                  ).fetchone()
        assert refused == (False, 0.5, 0.1)
        assert passed == (True, 0)
        row = conn.execute("select tat - (extract(epoch from timestamptz '2030-01-01+00') * 1000000)"
                           "::bigint, rem, den from ratelimit.buckets where key = 'old'").fetchone()
        assert row == (700000, 0, 5)
