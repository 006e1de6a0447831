"""With pg_cron in the database (the local cluster's `brandbase` database, named in
cron.database_name), the modules' maintenance lands in cron.job; without it (every other
test database) the same install succeeds and only notes it."""

from __future__ import annotations

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
    assert {"audit-partitions", "versions-prune"} <= set(jobs)
    assert "audit.drop_before" in retention and "'1 year 1 mon'" in retention
    assert left == 0


def test_without_pg_cron_the_install_still_succeeds(new_database):
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert not conn.execute("select count(*) from pg_extension where extname = 'pg_cron'").fetchone()[0]
        migrate.migrate(conn, pack.load(ROOT))
        assert conn.execute("select audit.seal() >= 0").fetchone()[0]
