"""Quota metering under real concurrency, and the alert announced with NOTIFY."""

from __future__ import annotations

import concurrent.futures

import psycopg


def _brand(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return str(conn.execute("insert into brand.brands (slug, name) values ('quota', 'Quota') "
                                "returning id").fetchone()[0])


def test_concurrent_consumers_never_pass_the_hard_limit(owner_dsn):
    brand_id = _brand(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into quotas.brand_quotas (brand_id, metric, hard_limit) "
                     "values (%s, 'exports', 100)", (brand_id,))

    def consume(_: int) -> int:
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            return sum(conn.execute("select allowed from quotas.consume(%s, 'exports')",
                                    (brand_id,)).fetchone()[0] for _ in range(25))

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        allowed = sum(pool.map(consume, range(16)))
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        used = conn.execute("select sum(used) from quotas.usage where brand_id = %s",
                            (brand_id,)).fetchone()[0]
    assert allowed == 100 and used == 100


def test_crossing_a_threshold_is_announced(owner_dsn):
    brand_id = _brand(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as listener, \
            psycopg.connect(owner_dsn, autocommit=True) as conn:
        listener.execute("listen brandbase_quota_alert")
        conn.execute("select quotas.consume(%s, 'seats', 4)", (brand_id,))  # free plan: 5 seats
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert notes and '"threshold" : 80' in notes[0] and brand_id in notes[0]
