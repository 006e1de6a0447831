"""The migration engine against a real server: apply, no-op, concurrency, drift,
failures, dry run, opt-out of the transaction, bad pack folders."""

from __future__ import annotations

import concurrent.futures

import psycopg
import pytest
from tests.helpers import ROOT, copy_pack, run_cli, scalar

from brandbase import migrate, pack


def apply(dsn: str, root=ROOT) -> migrate.Plan:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return migrate.migrate(conn, pack.load(root))


def test_fresh_install_applies_every_file_once_as_non_superuser(new_database):
    dsn = new_database()
    assert scalar(dsn, "select rolsuper from pg_roles where rolname = current_user") is False
    assert scalar(dsn, "select rolcreaterole from pg_roles where rolname = current_user") is True
    done = apply(dsn)
    everything = pack.load(ROOT)
    assert [f.name for f in done.versioned] == [f.name for f in everything.versioned]
    assert len(done.repeatable) == len(everything.repeatable)
    rows = scalar(dsn, "select count(*) from brandbase.migrations")
    assert rows == len(everything.versioned) + len(everything.repeatable)
    assert scalar(dsn, "select bool_and(applied_by = current_user and execution_ms >= 0) "
                       "from brandbase.migrations")


def test_second_run_is_a_no_op(new_database):
    dsn = new_database()
    apply(dsn)
    before = scalar(dsn, "select max(applied_at) from brandbase.migrations")
    done = apply(dsn)
    assert done.files == []
    assert scalar(dsn, "select max(applied_at) from brandbase.migrations") == before


def test_changed_repeatable_file_is_reapplied_alone(new_database, tmp_path):
    dsn = new_database()
    root = copy_pack(tmp_path)
    apply(dsn, root)
    clock = root / "sql" / "brand" / "00_clock.sql"
    clock.write_text(clock.read_text() + "\n-- a harmless change\n")
    done = apply(dsn, root)
    assert [f.name for f in done.files] == ["sql/brand/00_clock.sql"]


def test_concurrent_migrate_runs_apply_everything_exactly_once(new_database):
    dsn = new_database()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: run_cli("migrate", "--dsn", dsn), range(3)))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    applied_counts = sorted(int(r.stdout.split()[0]) for r in results)
    assert applied_counts == [0, 0, len(pack.load(ROOT).versioned)]
    assert scalar(dsn, "select count(*) = count(distinct name) from brandbase.migrations")


def test_verify_fails_on_an_edited_applied_migration(new_database, tmp_path):
    dsn = new_database()
    root = copy_pack(tmp_path)
    apply(dsn, root)
    first = sorted((root / "migrations").glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- sneaky edit\n")
    result = run_cli("--root", str(root), "verify", "--dsn", dsn)
    assert result.returncode == 1
    assert f"migrations/{first.name}: edited" in result.stderr
    refused = run_cli("--root", str(root), "migrate", "--dsn", dsn)
    assert refused.returncode == 1 and "differ from this pack" in refused.stderr


def test_verify_reports_an_applied_migration_unknown_to_the_pack(new_database):
    dsn = new_database()
    apply(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into brandbase.migrations (name, version, module, kind, checksum, "
                     "execution_ms) values ('migrations/0999_x__y.sql', 999, 'x', 'versioned', "
                     "repeat('a', 64), 1)")
    result = run_cli("verify", "--dsn", dsn)
    assert result.returncode == 1
    assert "migrations/0999_x__y.sql: unknown" in result.stderr
    assert run_cli("verify", "--dsn", new_database()).returncode == 0


def test_a_failing_file_rolls_back_completely_and_names_file_line_sqlstate(new_database, tmp_path):
    dsn = new_database()
    root = copy_pack(tmp_path)
    n = len(pack.load(ROOT).versioned) + 1
    bad = root / "migrations" / f"{n:04d}_brand__broken.sql"
    bad.write_text("-- header\ncreate table brand.half_done (x int);\n\n"
                   "insert into brand.half_done\nselect 1 / 0;\n")
    result = run_cli("--root", str(root), "migrate", "--dsn", dsn)
    assert result.returncode == 1
    assert f"migrations/{bad.name}:4: [22012] division by zero" in result.stderr
    assert scalar(dsn, "select to_regclass('brand.half_done') is null")
    assert scalar(dsn, "select count(*) from brandbase.migrations where name like %s",
                  (f"%{bad.name}",)) == 0
    # Earlier files stay applied; fixing the file lets the next run finish.
    bad.write_text("create table brand.half_done (x int);\n")
    assert run_cli("--root", str(root), "migrate", "--dsn", dsn).returncode == 0
    assert scalar(dsn, "select to_regclass('brand.half_done') is not null")


def test_syntax_error_points_at_the_line(new_database, tmp_path):
    root = copy_pack(tmp_path)
    n = len(pack.load(ROOT).versioned) + 1
    (root / "migrations" / f"{n:04d}_brand__typo.sql").write_text("select 1;\n\nselec 2;\n")
    result = run_cli("--root", str(root), "migrate", "--dsn", new_database())
    assert result.returncode == 1
    assert f"{n:04d}_brand__typo.sql:3" in result.stderr and "syntax error" in result.stderr


def test_dry_run_prints_sql_and_changes_nothing(new_database):
    dsn = new_database()
    result = run_cli("migrate", "--dry-run", "--dsn", dsn)
    assert result.returncode == 0, result.stderr
    assert "-- ===== migrations/0001_brand__roles_and_auth_shim.sql [versioned] =====" in result.stdout
    assert "create table brand.brands" in result.stdout
    assert scalar(dsn, "select to_regnamespace('brandbase') is null")
    assert scalar(dsn, "select to_regnamespace('brand') is null")


def test_no_transaction_file_runs_create_index_concurrently(new_database, tmp_path):
    dsn = new_database()
    root = copy_pack(tmp_path)
    n = len(pack.load(ROOT).versioned) + 1
    (root / "migrations" / f"{n:04d}_brand__slug_index.sql").write_text(
        "-- brandbase:no-transaction\n"
        "create index concurrently if not exists brands_name_idx on brand.brands (name);\n")
    apply(dsn, root)
    assert scalar(dsn, "select indisvalid from pg_index where indexrelid = "
                       "'brand.brands_name_idx'::regclass")


@pytest.mark.parametrize(("names", "message"), [
    (["0001_brand__a.sql", "0003_brand__c.sql"], "version gap, expected 0002"),
    (["0001_brand__a.sql", "0001_brand__b.sql"], "duplicate version 0001"),
    (["1_brand__a.sql"], "bad file name"),
])
def test_bad_migration_folders_are_refused_before_anything_runs(new_database, tmp_path,
                                                                names, message):
    (tmp_path / "migrations").mkdir()
    for name in names:
        (tmp_path / "migrations" / name).write_text("create table public.should_not_exist ();\n")
    dsn = new_database()
    result = run_cli("--root", str(tmp_path), "migrate", "--dsn", dsn)
    assert result.returncode == 1
    assert message in result.stderr
    assert scalar(dsn, "select to_regclass('public.should_not_exist') is null")


def test_shim_leaves_a_real_supabase_auth_schema_untouched(new_database):
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:  # a minimal stand-in for Supabase
        conn.execute("""
            create schema auth;
            comment on schema auth is 'supabase auth';
            create table auth.users (id uuid primary key, email text);
            create function auth.uid() returns uuid language sql stable
                as $$ select '00000000-0000-0000-0000-000000000001'::uuid $$;
        """)
    apply(dsn)
    assert scalar(dsn, "select obj_description('auth'::regnamespace)") == "supabase auth"
    assert scalar(dsn, "select auth.uid()::text") == "00000000-0000-0000-0000-000000000001"
    assert scalar(dsn, "select to_regprocedure('auth.role()') is null")
