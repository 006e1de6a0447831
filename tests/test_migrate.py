"""The migration engine against a real server: apply, no-op, concurrency, drift,
failures, dry run, opt-out of the transaction, bad pack folders."""

from __future__ import annotations

import concurrent.futures
import uuid

import psycopg
import pytest
from psycopg import sql
from tests.helpers import ROOT, copy_pack, run_cli, scalar

from brandbase import migrate, pack
from brandbase.local import OWNER, prepare_database


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


# -- preflight: everything the install needs is checked before anything runs --------------------
@pytest.fixture
def bare(cluster):
    """Factory: (dsn, superuser dsn) of a database `owner` owns, made by a superuser who did
    nothing else (no schema extensions, no extensions). `role=` makes a fresh login role
    without CREATEROLE and connects as it."""
    made_dbs, made_roles = [], []
    state = cluster.state

    def make(owner: str = OWNER, role: str | None = None) -> tuple[str, str]:
        name = f"t_bare_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(cluster.url(superuser=True, dbname="postgres"), autocommit=True) as su:
            if role:
                su.execute(sql.SQL("create role {} login password 'pw'").format(sql.Identifier(role)))
                made_roles.append(role)
            su.execute(sql.SQL("create database {} owner {}").format(
                sql.Identifier(name), sql.Identifier(owner)))
        made_dbs.append(name)
        user, pw = (role, "pw") if role else (OWNER, state.owner_password)
        return (f"postgresql://{user}:{pw}@127.0.0.1:{state.port}/{name}",
                cluster.url(superuser=True, dbname=name))

    yield make
    with psycopg.connect(cluster.url(superuser=True, dbname="postgres"), autocommit=True) as su:
        for name in made_dbs:
            su.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        for role in made_roles:
            su.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def nothing_installed(dsn: str) -> bool:
    return scalar(dsn, "select count(*) = 0 from pg_namespace where nspname in "
                       "('brandbase', 'brand', 'api', 'webhooks')")


def refused(dsn: str, *expected: str) -> str:
    result = run_cli("migrate", "--dsn", dsn)
    assert result.returncode == 1, result.stdout
    err = result.stderr
    assert "is not ready for brandbase; nothing was installed" in err, err
    assert "Traceback" not in err and err.count("missing:") == 1
    for text in expected:
        assert text in err, err
    assert nothing_installed(dsn)
    return err


def run_as_superuser(su_dsn: str, message: str) -> None:
    """The message's fix commands, run exactly as printed."""
    commands = [line.strip() for line in message.splitlines()
                if line.startswith("    ") and not line.strip().startswith("- ")]
    with psycopg.connect(su_dsn, autocommit=True) as su:
        for command in commands:
            su.execute(command)


def test_preflight_without_schema_extensions_names_it_and_the_fix(bare):
    dsn, su_dsn = bare()
    err = refused(dsn, "schema extensions (the pack calls extension functions there: "
                       "pgcrypto (sql/webhooks/10_endpoints.sql:",
                  "extension pgcrypto in schema extensions",
                  "create schema if not exists extensions;",
                  "create extension if not exists pgcrypto with schema extensions;",
                  "grant usage on schema extensions to public;")
    run_as_superuser(su_dsn, err)
    assert run_cli("migrate", "--dsn", dsn).returncode == 0
    assert not nothing_installed(dsn)


def test_preflight_with_pgcrypto_installed_the_plain_way_asks_to_move_it(bare):
    dsn, su_dsn = bare()
    with psycopg.connect(su_dsn, autocommit=True) as su:
        su.execute("create extension pgcrypto")  # into public, as plain PostgreSQL does
    err = refused(dsn, "extension pgcrypto in schema extensions (it is in schema public",
                  "alter extension pgcrypto set schema extensions;")
    run_as_superuser(su_dsn, err)
    assert run_cli("migrate", "--dsn", dsn).returncode == 0


def test_preflight_without_usage_on_extensions(bare):
    dsn, su_dsn = bare()
    with psycopg.connect(su_dsn, autocommit=True) as su:
        su.execute("create schema extensions; create extension pgcrypto with schema extensions")
    err = refused(dsn, f"USAGE on schema extensions for role {OWNER}",
                  "grant usage on schema extensions to public;")
    assert "create extension" not in err  # only what is missing
    run_as_superuser(su_dsn, err)
    assert run_cli("migrate", "--dsn", dsn).returncode == 0


def test_preflight_without_create_on_the_database(bare, cluster):
    dsn, su_dsn = bare(owner="postgres")  # the owner role may connect, but not create
    prepare_database(su_dsn, OWNER)
    refused(dsn, f"CREATE on database {dsn.rsplit('/', 1)[1]} for role {OWNER}",
            f'alter database "{dsn.rsplit("/", 1)[1]}" owner to "{OWNER}";')


def test_preflight_without_createrole_or_admin_on_the_api_roles(bare, new_database):
    new_database()  # the API roles exist cluster-wide once any database has the pack
    role = f"bb_plain_{uuid.uuid4().hex[:6]}"
    dsn, su_dsn = bare(owner="postgres", role=role)
    with psycopg.connect(su_dsn, autocommit=True) as su:
        su.execute(sql.SQL("alter database {} owner to {}").format(
            sql.Identifier(su.info.dbname), sql.Identifier(role)))
    prepare_database(su_dsn, role)
    err = refused(dsn, f"CREATEROLE or ADMIN OPTION on roles anon, authenticated, service_role "
                       f"for role {role}", f'alter role "{role}" createrole;')
    assert "extensions" not in err.split("fix:")[0]  # the database itself is ready
    # Either fix works; ADMIN OPTION alone (no CREATEROLE) is enough once the roles exist.
    with psycopg.connect(su_dsn, autocommit=True) as su:
        su.execute(sql.SQL("grant anon, authenticated, service_role to {} with admin option")
                   .format(sql.Identifier(role)))
    result = run_cli("migrate", "--dsn", dsn)
    assert result.returncode == 0, result.stderr


def test_preflight_lists_every_missing_item_in_one_message(bare):
    role = f"bb_plain_{uuid.uuid4().hex[:6]}"
    dsn, su_dsn = bare(owner="postgres", role=role)
    err = refused(dsn, "CREATE on database", "CREATEROLE or ADMIN OPTION", "schema extensions",
                  "extension pgcrypto")
    items = [line for line in err.splitlines() if line.startswith("    - ")]
    assert len(items) == 4, err
    dry = run_cli("migrate", "--dry-run", "--dsn", dsn)
    assert dry.returncode == 0 and "not ready for brandbase" in dry.stderr
    assert nothing_installed(dsn)


def test_preflight_passes_on_a_ready_database_and_reads_the_pack_for_extensions(new_database):
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert migrate.preflight(conn, pack.load(ROOT)) == []
    needed = migrate.required_extensions(pack.load(ROOT))
    assert needed["pgcrypto"].startswith("sql/webhooks/10_endpoints.sql:")


def test_preflight_on_a_fresh_server_without_the_api_roles_needs_createrole(tmp_path):
    # The test cluster has the API roles (cluster-wide) since its first install; a new
    # cluster has none, as a plain PostgreSQL server that never saw the pack.
    from brandbase.local import LocalCluster

    fresh = LocalCluster(tmp_path / "fresh")
    fresh.start(log=lambda m: None)
    try:
        with psycopg.connect(fresh.url(superuser=True, dbname="postgres"), autocommit=True) as su:
            su.execute("create role app_plain login password 'pw'")
            su.execute("create database app owner app_plain")
        prepare_database(fresh.url(superuser=True, dbname="app"), "app_plain")
        dsn = f"postgresql://app_plain:pw@127.0.0.1:{fresh.state.port}/app"
        err = refused(dsn, "CREATEROLE for role app_plain (roles anon, authenticated, "
                           "service_role, authenticator do not exist yet",
                      'alter role "app_plain" createrole;')
        run_as_superuser(fresh.url(superuser=True, dbname="app"), err)
        result = run_cli("migrate", "--dsn", dsn)
        assert result.returncode == 0, result.stderr
        assert scalar(dsn, "select count(*) from pg_roles where rolname in "
                           "('anon', 'authenticated', 'service_role', 'authenticator')") == 4
    finally:
        fresh.destroy()


def test_preflight_names_a_server_that_is_too_old(new_database, monkeypatch):
    # No older server here: raise the bar above this one instead.
    monkeypatch.setattr(migrate, "MIN_SERVER_VERSION", 990000)
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn, \
            pytest.raises(migrate.PreflightError) as raised:
        migrate.migrate(conn, pack.load(ROOT))
    assert "PostgreSQL 99 or newer (this server runs 15" in str(raised.value)
    assert "upgrade the server to PostgreSQL 99 or newer" in str(raised.value)
    assert nothing_installed(dsn)
