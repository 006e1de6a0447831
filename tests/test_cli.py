"""The CLI's front door: `up` against a given DSN, and connection failures."""

from __future__ import annotations

import psycopg
from tests.helpers import run_cli


def test_up_with_a_dsn_migrates_and_prints_the_summary(new_database):
    result = run_cli("up", "--dsn", new_database())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("brandbase is up at", "migrations:", "modules:", "brand ", "health:",
                     "migrations verified", "lint:", "no findings"):
        assert expected in out
    assert "***@" in out  # the password is never printed
    again = run_cli("up", "--dsn", result.args[-1])
    assert "0 versioned and 0 repeatable file(s) applied" in again.stdout


def test_a_dsn_that_cannot_connect_is_a_clear_error():
    result = run_cli("migrate", "--dsn", "postgresql://nobody:secret@127.0.0.1:1/nodb")
    assert result.returncode == 1
    assert "cannot connect to postgresql://nobody:***@127.0.0.1:1/nodb" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_a_malformed_dsn_is_a_clear_error():
    result = run_cli("status", "--dsn", "not a dsn")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "not a dsn" in result.stderr


def test_lint_exit_code_reflects_errors(new_database):
    dsn = new_database()
    assert run_cli("migrate", "--dsn", dsn).returncode == 0
    assert run_cli("lint", "--dsn", dsn).returncode == 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table brand.oops (brand_id uuid, id int, primary key (brand_id, id))")
    result = run_cli("lint", "--dsn", dsn)
    assert result.returncode == 1 and "rls_disabled_on_brand_data: brand.oops" in result.stdout
