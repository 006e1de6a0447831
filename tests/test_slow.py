"""`brandbase slow` against the real pg_stat_statements of the local cluster."""

from __future__ import annotations

import psycopg
from tests.helpers import run_cli


def test_slow_lists_statements_and_diffs_snapshots(owner_dsn, tmp_path):
    snap = tmp_path / "before.json"
    first = run_cli("slow", "--dsn", owner_dsn, "--save", str(snap))
    assert first.returncode == 0, first.stderr
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        for _ in range(7):
            conn.execute("select count(*) as bb_slow_marker from pg_class")
    since = run_cli("slow", "--dsn", owner_dsn, "--since", str(snap), "--by", "calls", "-n", "50")
    assert since.returncode == 0, since.stderr
    marker = [line for line in since.stdout.splitlines() if "bb_slow_marker" in line]
    assert marker and marker[0].split()[0] == "7"  # exactly the calls since the snapshot
    assert "calls" in since.stdout.splitlines()[0]


def test_without_pg_stat_statements_the_message_says_what_to_do(db, owner_dsn):
    db.execute("drop extension pg_stat_statements")
    db.commit()
    result = run_cli("slow", "--dsn", owner_dsn)
    assert result.returncode == 1
    assert "pg_stat_statements is not installed" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
