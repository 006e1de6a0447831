-- versions: the app's surface. Tables are named as text (e.g. 'public.posts'); only
-- versioned tables resolve. Permissions are checked by the versions.* functions.

select brand.isolate('versions.content_versions', 'content.read');
select brand.isolate('versions.published', 'content.read');
revoke all on versions.content_versions, versions.published, versions.tracked
from public, anon, authenticated;
grant select on versions.content_versions, versions.published to authenticated;
grant select on versions.content_versions, versions.published, versions.tracked to service_role;

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
from versions.content_versions as v;

comment on view api.content_versions is
'Stored versions for PostgREST filtering; RLS shows only brands where the caller holds content.read.';

revoke all on api.content_versions from public, anon;
grant select on api.content_versions to authenticated, service_role;

create or replace function versions.resolve(table_name text)
returns regclass
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    target regclass := pg_catalog.to_regclass(table_name);
begin
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
