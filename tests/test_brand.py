"""brand against real sessions that pgTAP cannot open: a fresh install's TEMP grants
(clones of the template do not copy a database's grants), and a login role other than
the owner trying to freeze the clock."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from tests.helpers import ROOT, scalar

from brandbase import migrate, pack


@pytest.fixture(scope="module")
def installed(new_database) -> str:
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(ROOT))
    return dsn


@pytest.fixture
def tenant_login(installed):
    """A login role that is a member of authenticated (not of the owner): a direct
    tenant connection, or authenticator's session before and after SET ROLE."""
    name = f"tenant_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with psycopg.connect(installed, autocommit=True) as conn:
        conn.execute(f'create role "{name}" login password \'{password}\' in role authenticated')
    info = psycopg.conninfo.conninfo_to_dict(installed)
    yield psycopg.conninfo.make_conninfo(installed, user=name, password=password), info["dbname"]
    with psycopg.connect(installed, autocommit=True) as conn:
        conn.execute(f'drop role "{name}"')


def test_api_roles_lose_temp_and_every_other_role_keeps_it(installed):
    def temp(role: str) -> bool:
        return scalar(installed, "select has_database_privilege(%s, current_database(), 'TEMP')", (role,))

    assert not temp("anon")
    assert not temp("authenticated")
    for role in ("service_role", "authenticator", "brandbase_owner"):
        assert temp(role), role
    assert not scalar(installed, "select has_database_privilege('public', current_database(), 'TEMP')")


def test_authenticated_cannot_create_temporary_objects(installed):
    with psycopg.connect(installed) as conn:
        conn.execute("set role authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create domain pg_temp.uuid as text check (true)")
        conn.rollback()
        # Even once the owner has a temporary schema in this session.
        conn.execute("reset role")
        conn.execute("create temp table scratch (x int)")
        conn.execute("set role authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create temp table mine (x int)")


def test_a_tenant_session_cannot_freeze_the_clock(installed, tenant_login):
    dsn, _ = tenant_login
    with psycopg.connect(dsn) as conn:
        conn.execute("set role authenticated")
        conn.execute("select set_config('brandbase.frozen_now', '2020-01-01 00:00:00+00', true)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute("select brandbase.now()")
        assert err.value.diag.message_hint
        conn.rollback()
        # Unfrozen, the real clock; and the owner's session may freeze it.
        conn.execute("set role authenticated")
        assert conn.execute("select brandbase.now() = now()").fetchone()[0]
    with psycopg.connect(installed) as conn:
        conn.execute("set role authenticated")
        conn.execute("select set_config('brandbase.frozen_now', '2020-01-01 00:00:00+00', true)")
        assert str(conn.execute("select brandbase.now()").fetchone()[0]).startswith("2020-01-01")


def test_a_tenant_login_with_forged_claims_has_no_service_powers(installed, tenant_login):
    dsn, _ = tenant_login
    with psycopg.connect(dsn) as conn:
        conn.execute("set role authenticated")
        conn.execute("""select set_config('request.jwt.claims', '{"role": "service_role"}', true)""")
        assert conn.execute("select brand.caller_is_service()").fetchone()[0] is False
        conn.rollback()
        # Without SET ROLE the session user decides: a member of authenticated only.
        conn.execute("""select set_config('request.jwt.claims', '{"role": "service_role"}', true)""")
        assert conn.execute("select brand.caller_is_service()").fetchone()[0] is False
