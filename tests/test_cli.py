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


def test_up_reports_missing_optional_extensions_as_information(new_database, cluster):
    dsn = new_database()
    with psycopg.connect(cluster.url(superuser=True, dbname=dsn.rsplit("/", 1)[1]),
                         autocommit=True) as su:  # a fresh Supabase project has neither
        su.execute("drop extension if exists pgtap; drop extension if exists hypopg")
    result = run_cli("up", "--dsn", dsn)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines()
             if line.strip().startswith(("ok", "info", "FAIL"))
             and len(line.split()) > 2 and line.split()[1] != "overall"}
    assert "FAIL" not in result.stdout
    assert lines["extensions"].split()[0] == "ok" and "required: pgcrypto" in lines["extensions"]
    optional = {line.split()[2]: line for line in result.stdout.splitlines()
                if line.split()[1:2] == ["optional"]}
    assert optional["pgtap"].split()[0] == "info" and "pgTAP tests" in optional["pgtap"]
    assert optional["hypopg"].split()[0] == "info" and "--advise" in optional["hypopg"]
    assert optional["pg_stat_statements"].split()[0] == "ok"
