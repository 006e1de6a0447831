"""Quota metering under real concurrency, and the alert announced with NOTIFY."""

from __future__ import annotations

import concurrent.futures

import psycopg


def _brand(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return str(conn.execute("insert into brand.brands (slug, name) values ('quota', 'Quota') "
                                "returning id").fetchone()[0])


def _hammer(dsn: str, brand_id: str, metric: str) -> int:
    """16 clients make 25 attempts each against a hard limit of 100; returns how many passed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into quotas.brand_quotas (brand_id, metric, hard_limit) "
                     "values (%s, %s, 100)", (brand_id, metric))

    def consume(_: int) -> int:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return sum(conn.execute("select allowed from quotas.consume(%s, %s)",
                                    (brand_id, metric)).fetchone()[0] for _ in range(25))

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return sum(pool.map(consume, range(16)))


def test_concurrent_consumers_never_pass_the_hard_limit(owner_dsn):
    brand_id = _brand(owner_dsn)
    allowed = _hammer(owner_dsn, brand_id, "exports")
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


def test_buffered_consumers_never_pass_the_hard_limit(owner_dsn):
    """api_calls is buffered (the unlogged quotas.counters): just as exact under
    concurrency, and quotas.usage holds the count once flushed."""
    brand_id = _brand(owner_dsn)
    allowed = _hammer(owner_dsn, brand_id, "api_calls")
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        usage = "select coalesce(sum(used), 0) from quotas.usage where brand_id = %s"
        unflushed = conn.execute(usage, (brand_id,)).fetchone()[0]
        metered = conn.execute("select sum(used) from quotas.metered(%s, 'api_calls')",
                               (brand_id,)).fetchone()[0]
        conn.execute("select quotas.flush()")
        flushed = conn.execute(usage, (brand_id,)).fetchone()[0]
    assert (allowed, unflushed, metered, flushed) == (100, 0, 100, 100)


def test_a_crash_forgets_only_the_unflushed_counts(owner_dsn):
    """Crash recovery empties unlogged tables; TRUNCATE does the same to quotas.counters.
    Counting resumes from the last flush, and never from zero."""
    brand_id = _brand(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        def consume(n: int) -> int:
            return conn.execute("select used from quotas.consume(%s, 'api_calls', %s)",
                                (brand_id, n)).fetchone()[0]

        assert consume(5) == 5
        assert conn.execute("select quotas.flush()").fetchone()[0] == 1
        assert conn.execute("select quotas.flush()").fetchone()[0] == 0, "nothing new to copy"
        assert consume(3) == 8
        conn.execute("truncate quotas.counters")
        assert conn.execute("select used from quotas.metered(%s, 'api_calls')",
                            (brand_id,)).fetchone()[0] == 5
        assert consume(1) == 6


def test_flush_keeps_the_count_of_a_counter_it_drops(owner_dsn):
    """Counters of long-past periods leave quotas.counters, their count kept in usage."""
    brand_id = _brand(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into quotas.counters (brand_id, metric, period_start, used) "
                     "values (%s, 'api_calls', now() - interval '60 days', 42)", (brand_id,))
        conn.execute("select quotas.flush()")
        left = conn.execute("select count(*) from quotas.counters where brand_id = %s",
                            (brand_id,)).fetchone()[0]
        kept = conn.execute("select used from quotas.usage where brand_id = %s",
                            (brand_id,)).fetchone()[0]
    assert (left, kept) == (0, 42)


def test_quota_usage_is_planned_below_the_jit_threshold(owner_dsn):
    """api.quota_usage starts from the caller's brands (ROWS 10), so its estimate follows
    them and not brand.brands: with 20,000 brands the plan stays under jit_above_cost
    (100,000) and, with jit on, nothing is JIT-compiled (issue 15.5: 39M, 0.5 s a read)."""
    import json

    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("insert into brand.brands (slug, name) "
                     "select 'jit-' || g, 'Jit ' || g from generate_series(1, 20000) as g")
        uid = conn.execute("insert into auth.users (email) values ('jit@example.test') "
                           "returning id").fetchone()[0]
        conn.execute("insert into brand.members (brand_id, user_id, tier) "
                     "select id, %s, 'viewer' from brand.brands where slug in ('jit-1', 'jit-2', 'jit-3')",
                     (uid,))
        conn.execute("analyze")
        with conn.transaction():
            conn.execute("select set_config('request.jwt.claims', %s, true)",
                         (json.dumps({"sub": str(uid), "role": "authenticated"}),))
            conn.execute("set local role authenticated")
            conn.execute("set local jit = on")
            conn.execute("set local jit_above_cost = 100000")
            plan = conn.execute("explain (analyze, format json) "
                                "select * from api.quota_usage").fetchone()[0][0]
    assert plan["Plan"]["Total Cost"] < 100_000, plan["Plan"]["Total Cost"]
    assert "JIT" not in plan, plan.get("JIT")
    assert plan["Plan"]["Actual Rows"] == 15  # 3 brands x 5 metrics
