"""brandbase inside a Supabase twin: a local cluster shaped as Supabase shapes a project
(src/brandbase/supabase_twin.sql, which `brandbase local` applies too: its roles and their
attributes, `extensions`, an `auth` owned by supabase_auth_admin that behaves as GoTrue's,
`storage`, the realtime publication), with the pack installed by the real Supabase CLI
(pinned, from npm, by scripts/supabase-cli.sh) and by `brandbase migrate`, then used as
PostgREST and GoTrue use it."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from tests.helpers import ROOT, run_cli

from brandbase import lint
from brandbase.local import OWNER, LocalCluster, shape_like_supabase

CLI = ROOT / ".brandbase" / "supabase-cli" / "node_modules" / ".bin" / "supabase"
PASSWORD = secrets.token_urlsafe(12)

# Everything a catalog snapshot of `auth` compares: tables, columns, owners, ACLs, RLS
# flags, constraints, function bodies and settings, triggers and policies.
AUTH_SNAPSHOT = """
select string_agg(line, E'\n' order by line) from (
    select format('rel %s %s owner=%s acl=%s rls=%s', c.relname, c.relkind,
                  c.relowner::regrole, c.relacl, c.relrowsecurity) as line
    from pg_class as c where c.relnamespace = 'auth'::regnamespace
    union all
    select format('col %s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull)
    from pg_attribute as a join pg_class as c on c.oid = a.attrelid
    where c.relnamespace = 'auth'::regnamespace and a.attnum > 0 and not a.attisdropped
    union all
    select format('con %s %s', conname, pg_get_constraintdef(oid))
    from pg_constraint where connamespace = 'auth'::regnamespace
    union all
    select format('fn %s owner=%s acl=%s cfg=%s md5=%s', p.oid::regprocedure, p.proowner::regrole,
                  p.proacl, p.proconfig, md5(p.prosrc))
    from pg_proc as p where p.pronamespace = 'auth'::regnamespace
    union all
    select format('tg %s %s', tgrelid::regclass, tgname) from pg_trigger
    where not tgisinternal  -- other schemas' foreign keys add internal RI triggers here
        and tgrelid in (select oid from pg_class where relnamespace = 'auth'::regnamespace)
    union all
    select format('pol %s %s', polrelid::regclass, polname) from pg_policy
    where polrelid in (select oid from pg_class where relnamespace = 'auth'::regnamespace)
    union all
    select format('schema owner=%s acl=%s', nspowner::regrole, nspacl)
    from pg_namespace where nspname = 'auth'
) as s
"""


@pytest.fixture(scope="module")
def twin() -> LocalCluster:
    assert CLI.exists(), "the Supabase CLI is missing: run scripts/supabase-cli.sh (make bootstrap)"
    # As `brandbase local` makes it: `brandbase` (the database pg_cron runs in) shaped.
    c = LocalCluster(ROOT / ".brandbase" / "twin-cluster", supabase=True)
    c.destroy()
    c.start(log=lambda m: None)
    with psycopg.connect(c.url(superuser=True, dbname="postgres"), autocommit=True) as conn:
        for role in ("authenticator", "supabase_auth_admin"):
            conn.execute(sql.SQL("alter role {} password {}").format(
                sql.Identifier(role), sql.Literal(PASSWORD)))
    with psycopg.connect(c.url(superuser=True), autocommit=True) as conn:
        # hosted Supabase has it; `supabase db lint` needs it
        conn.execute("create extension if not exists plpgsql_check with schema extensions")
    yield c
    c.destroy()


def shape(cluster: LocalCluster, dbname: str) -> None:
    shape_like_supabase(cluster.url(superuser=True, dbname=dbname))


@pytest.fixture
def twin_db(twin):
    """A fresh Supabase-shaped database on the twin cluster; yields the installer's DSN."""
    name = f"sb_{uuid.uuid4().hex[:8]}"
    twin.create_database(name)
    shape(twin, name)
    yield twin.url(dbname=name)
    twin.drop_database(name)


def as_role(dsn: str, role: str) -> str:
    return re.sub(r"//[^@]+@", f"//{role}:{PASSWORD}@", dsn)


def supabase(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, input="")
    return done


def bundle(tmp_path: Path) -> tuple[Path, list[str]]:
    project = tmp_path / "project"
    out = project / "supabase" / "migrations"
    done = run_cli("bundle", "--supabase", str(out))
    assert done.returncode == 0, done.stderr
    versions = sorted(p.name.split("_", 1)[0] for p in out.glob("*.sql"))
    return project, versions


def snapshot(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(AUTH_SNAPSHOT).fetchone()[0]


def db_url(dsn: str) -> str:
    return dsn + "?sslmode=disable"  # the CLI insists on TLS unless told; the twin has none


def test_the_cli_pushes_the_bundle_once_and_leaves_auth_alone(twin, twin_db, tmp_path):
    project, versions = bundle(tmp_path)
    before = snapshot(twin_db)
    pushed = supabase("db", "push", "--db-url", db_url(twin_db), "--yes", cwd=project)
    assert pushed.returncode == 0, pushed.stderr
    assert (pushed.stdout + pushed.stderr).count("Applying migration") == len(versions)
    assert snapshot(twin_db) == before

    listed = supabase("migration", "list", "--db-url", db_url(twin_db), cwd=project)
    assert listed.returncode == 0, listed.stderr
    rows = re.findall(r"`(\d{14})`\s*\|\s*`(\d{14})`", listed.stdout)
    assert [local for local, _ in rows] == versions
    assert all(local == remote for local, remote in rows)

    again = supabase("db", "push", "--db-url", db_url(twin_db), "--yes", cwd=project)
    assert again.returncode == 0 and "up to date" in again.stdout + again.stderr
    assert run_cli("verify", "--dsn", twin_db).returncode == 0
    assert "0 pending migration(s), 0 repeatable file(s)" in run_cli("status", "--dsn", twin_db).stdout


def test_a_database_installed_by_brandbase_switches_to_the_cli_by_repair(twin, twin_db, tmp_path):
    assert run_cli("migrate", "--dsn", twin_db).returncode == 0
    project, versions = bundle(tmp_path)
    # Without repair the CLI would apply everything again and fail on `create schema api`.
    repaired = supabase("migration", "repair", "--status", "applied", *versions,
                        "--db-url", db_url(twin_db), cwd=project)
    assert repaired.returncode == 0, repaired.stderr
    pushed = supabase("db", "push", "--db-url", db_url(twin_db), "--yes", cwd=project)
    assert pushed.returncode == 0 and "up to date" in pushed.stdout + pushed.stderr
    assert run_cli("verify", "--dsn", twin_db).returncode == 0


@pytest.fixture(scope="module")
def installed(twin):
    """The twin's pg_cron database with the pack applied by `brandbase migrate`."""
    dsn = twin.url(dbname="brandbase")
    before = snapshot(dsn)
    done = run_cli("migrate", "--dsn", dsn)
    assert done.returncode == 0, done.stdout + done.stderr
    return dsn, before


def test_migrate_leaves_auth_alone_and_schedules_pg_cron(installed):
    dsn, before = installed
    assert snapshot(dsn) == before
    with psycopg.connect(dsn, autocommit=True) as conn:
        owners = {r[0] for r in conn.execute("select username from cron.job")}
        comment = conn.execute("select obj_description('auth'::regnamespace)").fetchone()[0]
    assert owners == {OWNER}
    assert comment is None  # the shim's comment is not applied to a real auth


def test_the_pack_lints_clean_on_the_twin(installed):
    """brandbase's lints carry the Advisor's (splinter's) ERROR and WARN checks for the pack:
    definers in the exposed schema, tables there without RLS, reg* columns, search paths."""
    dsn, _ = installed
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert [(f.name, f.object) for f in lint.run(conn)] == []


EMAILS: dict[uuid.UUID, str] = {}


def sign_up(dsn: str, email: str) -> uuid.UUID:
    """A user as GoTrue creates one: auth.users plus its email identity."""
    user = uuid.uuid4()
    with psycopg.connect(as_role(dsn, "supabase_auth_admin"), autocommit=True) as conn:
        conn.execute("insert into auth.users (id, aud, role, email, raw_app_meta_data, "
                     "raw_user_meta_data, created_at, updated_at, email_confirmed_at) "
                     "values (%s, 'authenticated', 'authenticated', %s, "
                     "'{\"provider\": \"email\"}', '{}', now(), now(), now())", (user, email))
        conn.execute("insert into auth.identities (provider_id, user_id, identity_data, provider, "
                     "created_at, updated_at) values (%s, %s, %s, 'email', now(), now())",
                     (str(user), user, json.dumps({"sub": str(user), "email": email})))
    EMAILS[user] = email
    return user


def request(dsn: str, user: uuid.UUID | None, query: str, params: tuple = ()):
    """One PostgREST request: authenticator switches role, sets the GoTrue claims."""
    with psycopg.connect(as_role(dsn, "authenticator")) as conn:
        role = "authenticated" if user else "anon"
        claims = {"aud": "authenticated", "role": role, "aal": "aal1", "amr": [],
                  "session_id": str(uuid.uuid4()), "is_anonymous": False,
                  "app_metadata": {"provider": "email"}, "user_metadata": {}}
        if user:
            claims |= {"sub": str(user), "email": EMAILS[user]}
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        conn.execute("set local search_path = api, public, extensions")
        conn.execute("select set_config('request.jwt.claims', %s, true), "
                     "set_config('request.method', 'POST', true)", (json.dumps(claims),))
        return conn.execute(query, params).fetchall()


def test_the_app_works_through_authenticator_with_gotrue_claims(installed):
    dsn, _ = installed
    owner = sign_up(dsn, f"{uuid.uuid4().hex[:8]}@example.com")
    slug = f"twin-{uuid.uuid4().hex[:8]}"
    [(brand_id,)] = request(dsn, owner, "select (api.create_brand(%s, 'Twin')).id", (slug,))
    assert request(dsn, owner, "select slug, tier::text from api.my_brands") == [(slug, "owner")]
    stranger = sign_up(dsn, f"{uuid.uuid4().hex[:8]}@example.com")
    assert request(dsn, stranger, "select count(*) from api.brand_members "
                   "where brand_id = %s", (brand_id,)) == [(0,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        request(dsn, None, "select * from api.my_brands")


def delete_user(dsn: str, user: uuid.UUID) -> None:
    """As the dashboard and GoTrue's admin API do it."""
    with psycopg.connect(as_role(dsn, "supabase_auth_admin"), autocommit=True) as conn:
        conn.execute("delete from auth.users where id = %s", (user,))


def test_deleting_users_as_gotrue_does(installed):
    dsn, _ = installed
    owner = sign_up(dsn, f"o{uuid.uuid4().hex[:8]}@example.com")
    email = f"g{uuid.uuid4().hex[:8]}@example.com"
    guest = sign_up(dsn, email)
    slug = f"del-{uuid.uuid4().hex[:8]}"
    [(brand_id,)] = request(dsn, owner, "select (api.create_brand(%s, 'Del')).id", (slug,))
    [(token,)] = request(dsn, owner, "select api.invite_member(%s, %s, 'editor')", (brand_id, email))
    request_as_guest = request(dsn, guest, "select (api.accept_invitation(%s)).tier::text", (token,))
    assert request_as_guest == [("editor",)]

    delete_user(dsn, guest)  # once blocked by the invitation's accepted_by check
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select count(*) from brand.members where user_id = %s",
                            (guest,)).fetchone()[0] == 0

    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        delete_user(dsn, owner)  # the sole owner: the brand would be left without one
    assert slug in str(refused.value) or str(brand_id) in str(refused.value)
    assert refused.value.diag.message_hint


def test_supabase_db_lint_finds_nothing_in_the_pack(installed, tmp_path):
    dsn, _ = installed
    with psycopg.connect(dsn, autocommit=True) as conn:
        schemas = lint.pack_schemas(conn)
    done = supabase("db", "lint", "--db-url", db_url(dsn), "--level", "warning",
                    "--schema", ",".join(schemas), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout) if done.stdout.strip().startswith("[") else []
    found = [(f["function"], i["message"], i.get("context")) for f in report for i in f["issues"]]
    assert found == []
