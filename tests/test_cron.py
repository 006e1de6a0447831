"""With pg_cron in the database (the local cluster's `brandbase` database, named in
cron.database_name), the modules' maintenance lands in cron.job; without it (every other
test database) the same install succeeds and only notes it."""

from __future__ import annotations

import time

import psycopg
import pytest
from tests.helpers import ROOT

from brandbase import migrate, pack


def test_maintenance_is_scheduled_with_pg_cron(cluster):
    dsn = cluster.url()  # the app database, where pg_cron lives
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("select count(*) from pg_extension where extname = 'pg_cron'").fetchone()[0]:
            pytest.fail("the local cluster should preload pg_cron (make test installs it)")
        migrate.migrate(conn, pack.load(ROOT))
        jobs = dict(conn.execute("select jobname, schedule from cron.job").fetchall())
        conn.execute("select audit.keep_for('13 months')")
        retention = conn.execute(
            "select command from cron.job where jobname = 'audit-retention'").fetchone()[0]
        conn.execute("select audit.keep_for(null)")
        left = conn.execute("select count(*) from cron.job where jobname = 'audit-retention'").fetchone()[0]
    assert jobs["audit-seal"] == "* * * * *"
    assert {"audit-partitions", "versions-prune", "jobs-work", "jobs-reap", "jobs-prune",
            "pg-cron-history"} <= set(jobs)
    assert "audit.drop_before" in retention and "'1 year 1 mon'" in retention
    assert left == 0


def test_without_pg_cron_the_install_still_succeeds(new_database):
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert not conn.execute("select count(*) from pg_extension where extname = 'pg_cron'").fetchone()[0]
        migrate.migrate(conn, pack.load(ROOT))
        assert conn.execute("select audit.seal() >= 0").fetchone()[0]


@pytest.mark.slow
def test_pg_cron_really_runs_the_jobs(cluster):
    """Not only scheduled: within a minute pg_cron connects as the owner and runs them (a SQL
    handler's job gets done with no worker running)."""
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        migrate.migrate(conn, pack.load(ROOT))
        conn.execute("create or replace function public.cron_echo(job jobs.job_queue) returns jsonb "
                     "language sql as 'select job.payload'")
        conn.execute("select jobs.create_queue('cron_echo', handler => 'public.cron_echo(jobs.job_queue)')")
        job = conn.execute("""select jobs.enqueue('cron_echo', '{"via": "pg_cron"}')""").fetchone()[0]
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline:
            done = conn.execute("select result from jobs.job_history where id = %s", (job,)).fetchone()
            if done:
                break
            time.sleep(1)
        runs = dict(conn.execute(
            "select j.jobname, array_agg(distinct d.status) from cron.job_run_details as d "
            "join cron.job as j using (jobid) where j.jobname in ('jobs-work', 'jobs-reap') "
            "group by j.jobname").fetchall())
        conn.execute("select jobs.drop_queue('cron_echo')")
    assert done == ({"via": "pg_cron"},), f"pg_cron runs: {runs}"
    assert "succeeded" in runs.get("jobs-reap", [])
