-- versions: the app's surface. Tables are named as text (e.g. 'public.posts'); only
-- versioned tables resolve. Permissions are checked by the versions.* functions.

select brand.isolate('versions.sealed_versions', 'content.read');
select brand.isolate('versions.published', 'content.read');
revoke all on versions.content_versions, versions.sealed_versions, versions.published, versions.tracked,
versions.captures, versions.seal_marks, versions.seal_rounds
from public, anon, authenticated;
grant select on versions.content_versions, versions.sealed_versions, versions.published to authenticated;
grant select on versions.content_versions, versions.sealed_versions, versions.published, versions.tracked,
versions.seal_rounds to service_role;
revoke all on function versions.pending_versions() from public, anon;
grant execute on function versions.pending_versions() to authenticated, service_role;

create or replace function versions.readable_scopes()
returns table (table_name text, brand_id uuid)
language plpgsql
stable
security definer
rows 20
set search_path = pg_catalog, pg_temp
as $$
declare
    caller name := brand.invoking_role();
    t versions.tracked;
    target regclass;
    condition text;
    mine uuid[];
begin
    -- Per versioned table, the brands whose rows the calling role may read in the table
    -- itself (brand_id null: every brand). Judged on a row holding only the brand: a
    -- policy that looks at other columns hides the table here (fail closed); such
    -- records are read one at a time through api.list_versions / api.get_version.
    select array_agg(m.brand_id) into mine from brand.members as m where m.user_id = brand.caller_id_checked();
    for t in select * from versions.tracked loop
        target := pg_catalog.to_regclass(t.table_name);
        continue when target is null or not pg_catalog.has_table_privilege(caller, target, 'SELECT');
        condition := versions._policy_expr(target, caller, 'r', false);
        continue when condition = 'false';
        if condition = 'true' or versions._row_passes(target, caller, 'r', false, '{}') then
            return query select t.table_name, null::uuid;
            continue;
        end if;
        return query execute pg_catalog.format(
            'select %L::text, b.id from unnest($1::uuid[]) as b (id) where exists ('
            'select from jsonb_populate_record(null::%s, jsonb_build_object(%L, b.id)) as %I where %s)',
            t.table_name, target, t.brand_column,
            (select c.relname from pg_catalog.pg_class as c where c.oid = target), condition
        ) using mine;
    end loop;
end
$$;

comment on function versions.readable_scopes() is
'(table, brand) pairs whose versions the caller may list in api.content_versions: the table''s '
'own SELECT privilege and row-level policies admit that brand''s rows (brand null: all brands).';

revoke all on function versions.readable_scopes() from public;
grant execute on function versions.readable_scopes() to authenticated, service_role;

create or replace view api.content_versions
with (security_invoker = true) as
select
    v.brand_id,
    v.table_name,
    v.record_key,
    v.version,
    v.operation,
    v.data,
    v.state,
    v.author_id,
    v.created_at
from versions.content_versions as v
where
    v.table_name in (
        select s.table_name from versions.readable_scopes() as s
        where s.brand_id is null
    )
    or (v.table_name, v.brand_id) in (
        select
            s.table_name,
            s.brand_id
        from versions.readable_scopes() as s
        where s.brand_id is not null
    );

comment on view api.content_versions is
'Stored versions for PostgREST filtering; RLS shows only brands where the caller holds content.read, '
'and only tables whose own read access (privilege and policies) admits the brand''s rows.';

revoke all on api.content_versions from public, anon;
grant select on api.content_versions to authenticated, service_role;

create or replace function versions.resolve(table_name text)
returns regclass
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    target regclass;
begin
    if octet_length(table_name) > 200 then
        raise exception 'table name of % bytes is too long', octet_length(table_name)
            using errcode = '22001', hint = 'Name it schema-qualified, e.g. public.posts.';
    end if;
    target := pg_catalog.to_regclass(table_name);
    if target is null then
        raise exception 'table % does not exist', table_name
            using errcode = '42P01', hint = 'Name it schema-qualified, e.g. public.posts.';
    end if;
    return target;
end
$$;

comment on function versions.resolve(text) is 'A table name given as text, as a regclass; 42P01 if unknown.';

create or replace function api.list_versions(table_name text, record_key jsonb)
returns table (
    version integer, operation text, state text, author_id uuid, created_at timestamptz,
    is_published boolean
)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$ select * from versions.list(versions.resolve(table_name), record_key) $$;

create or replace function api.get_version(table_name text, record_key jsonb, version integer)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$ select versions.get(versions.resolve(table_name), record_key, version) $$;

create or replace function api.version_at(table_name text, record_key jsonb, at_time timestamptz)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$ select versions.at(versions.resolve(table_name), record_key, at_time) $$;

create or replace function api.diff_versions(table_name text, record_key jsonb, a integer, b integer)
returns table (column_name text, old_value jsonb, new_value jsonb)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$ select * from versions.diff(versions.resolve(table_name), record_key, a, b) $$;

create or replace function api.restore_version(table_name text, record_key jsonb, version integer)
returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$ select versions.restore(versions.resolve(table_name), record_key, version) $$;

create or replace function api.publish_version(
    table_name text, record_key jsonb, version integer default null
)
returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$ select versions.publish(versions.resolve(table_name), record_key, version) $$;

comment on function api.list_versions(text, jsonb) is 'A record''s versions, newest first (content.read).';
comment on function api.get_version(text, jsonb, integer) is 'The record at version n (content.read).';
comment on function api.version_at(text, jsonb, timestamptz) is 'The record at a time (content.read).';
comment on function api.diff_versions(text, jsonb, integer, integer) is
'Columns that differ between versions a and b (content.read).';
comment on function api.restore_version(text, jsonb, integer) is
'Restore version n as a new version (content.restore).';
comment on function api.publish_version(text, jsonb, integer) is
'Mark a version live (content.publish).';

revoke all on function
versions.resolve(text),
api.list_versions(text, jsonb),
api.get_version(text, jsonb, integer),
api.version_at(text, jsonb, timestamptz),
api.diff_versions(text, jsonb, integer, integer),
api.restore_version(text, jsonb, integer),
api.publish_version(text, jsonb, integer)
from public;

grant execute on function
versions.resolve(text),
api.list_versions(text, jsonb),
api.get_version(text, jsonb, integer),
api.version_at(text, jsonb, timestamptz),
api.diff_versions(text, jsonb, integer, integer),
api.restore_version(text, jsonb, integer),
api.publish_version(text, jsonb, integer)
to authenticated, service_role;
