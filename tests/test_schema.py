"""Schema-wide invariants of the installed pack: the lints pass, the key shape holds,
and the lints really catch what they claim to."""

from __future__ import annotations

import re

import psycopg
import pytest
from tests.helpers import ROOT

from brandbase import lint


def test_the_pack_lints_clean(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        findings = lint.run(conn)
    assert findings == []


def test_brand_scoped_tables_exist_for_the_key_shape_lints_to_check(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        count = conn.execute("select count(*) from pg_attribute as a join pg_class as c "
                             "on c.oid = a.attrelid where a.attname = 'brand_id' "
                             "and c.relkind = 'r' and c.relnamespace = 'brand'::regnamespace"
                             ).fetchone()[0]
    assert count >= 2


def test_lints_cover_the_pack_schemas(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        schemas = lint.pack_schemas(conn)
    assert {"brand", "api", "brandbase"} <= set(schemas)


@pytest.mark.parametrize(("ddl", "expected"), [
    ("create table brand.leaky (brand_id uuid not null, id int, primary key (brand_id, id))",
     ("rls_disabled_on_brand_data", "brand.leaky")),
    ("create function brand.risky() returns int language sql security definer as 'select 1'",
     ("security_definer_without_search_path", "brand.risky()")),
    ("create function brand.pinned_empty() returns int language sql security definer "
     "set search_path = '' as 'select 1'",
     ("security_definer_without_search_path", "brand.pinned_empty()")),
    ("create table brand.child (brand_id uuid not null, id int, "
     "parent_id uuid references brand.brands (id), primary key (brand_id, id));"
     "alter table brand.child enable row level security",
     ("unindexed_foreign_key", "brand.child (child_parent_id_fkey)")),
    ("create table brand.keyless (x int)", ("no_primary_key", "brand.keyless")),
    ("create table brand.procs (brand_id uuid, p regprocedure, primary key (brand_id))",
     ("reg_type_column", "brand.procs.p")),
    ("create function api.privileged() returns int language sql security definer "
     "set search_path = pg_catalog, pg_temp as 'select 1'",
     ("definer_in_exposed_schema", "api.privileged()")),
    ("create table api.registry (id int primary key)", ("exposed_table_without_rls", "api.registry")),
    ("create function brand.drifting() returns int language plpgsql as 'begin return 1; end'",
     ("function_search_path_mutable", "brand.drifting()")),
    ("create function brand.open() returns int language sql as 'select 1'",
     ("function_executable_by_public", "brand.open()")),
    ("create view api.leaky_view as select id from brand.brands;"
     "grant select on api.leaky_view to authenticated",
     ("view_without_security_invoker", "api.leaky_view")),
    ("create table brand.bad_shape (id int primary key, brand_id uuid not null);"
     "alter table brand.bad_shape enable row level security",
     ("brand_id_not_leading_primary_key", "brand.bad_shape")),
    ("create table brand.a (brand_id uuid, id int, primary key (brand_id, id));"
     "create table brand.b (brand_id uuid, id int, a_id int, primary key (brand_id, id));"
     "alter table brand.a enable row level security;"
     "alter table brand.b enable row level security;"
     "create unique index on brand.a (id); create index on brand.b (a_id);"
     "alter table brand.b add constraint b_a_fk foreign key (a_id) references brand.a (id)",
     ("foreign_key_without_brand_id", "brand.b (b_a_fk)")),
    ("create table brand.p (brand_id uuid, id int, primary key (brand_id, id));"
     "alter table brand.p enable row level security;"
     "create policy \"per row\" on brand.p for select to authenticated "
     "using (brand.has_permission(brand_id, 'brand.read'))",
     ("policy_evaluates_per_row", "brand.p (per row)")),
    ("create table brand.q (brand_id uuid, id int, owner uuid, primary key (brand_id, id));"
     "alter table brand.q enable row level security;"
     "create policy \"uid per row\" on brand.q for select to authenticated using (owner = auth.uid())",
     ("policy_evaluates_per_row", "brand.q (uid per row)")),
    ("create index members_user_again on brand.members (user_id, brand_id)",
     ("duplicate_index", "brand.members: brand.members_user_id_idx = brand.members_user_again")),
    ("create policy \"second reader\" on brand.members for select to authenticated using (true)",
     ("multiple_permissive_policies", "brand.members SELECT for authenticated")),
    ("create table api.accounts (id int primary key, api_key text);"
     "grant select on api.accounts to authenticated",
     ("sensitive_column_exposed", "api.accounts.api_key")),
])

def test_each_lint_catches_its_problem(owner_dsn, ddl, expected):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(ddl)
        found = {(f.name, f.object) for f in lint.run(conn)}
    assert expected in found


def test_a_policy_in_the_set_form_is_not_flagged(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("create table brand.ok (brand_id uuid, id int, owner uuid, primary key (brand_id, id));"
                     "alter table brand.ok enable row level security;"
                     "create policy \"once\" on brand.ok for select to authenticated "
                     "using (owner = (select auth.uid()))")
        found = {(f.name, f.object) for f in lint.run(conn)}
    assert ("policy_evaluates_per_row", "brand.ok (once)") not in found


def test_the_advisor_exclusions_in_the_docs_are_the_lints_exemptions():
    lint_sql = (ROOT / "src" / "brandbase" / "lints" / "0016_function_search_path_mutable.sql").read_text()
    exempt = re.findall(r"'([a-z0-9_]+\.[a-z0-9_\"]+)'", lint_sql.split("any(array[", 1)[1].split("])", 1)[0])
    docs = (ROOT / "docs" / "supabase.md").read_text()
    listed = re.findall(r"`([a-z0-9_]+\.[a-z0-9_\"]+)`", docs.split("exempt for the same cost reason", 1)[1]
                        .split("They are SECURITY INVOKER", 1)[0])
    assert exempt and sorted(exempt) == sorted(listed)
