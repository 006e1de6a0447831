"""GCRA under real concurrency: 16 clients hammering one key get exactly the limit."""

from __future__ import annotations

import concurrent.futures

import psycopg


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
