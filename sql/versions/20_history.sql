-- versions: reading and changing history. Every function resolves the record through
-- versions.record() (tracked table, normalised key, brand from the key) and checks the
-- caller's permission in that brand: content.read to read, content.restore to restore,
-- content.publish to publish.

-- The versioned table's own permissions. The functions below are SECURITY DEFINER (they
-- read versions.content_versions whatever its policies), so they check, for the role that
-- called them, what PostgreSQL would check if that role read or wrote the row itself: the
-- table privilege, and the row-level policies that apply to that role, evaluated on the
-- row. Under PostgREST the calling role is the one SET ROLE chose (authenticated …).

create or replace function versions._policy_expr(
    target regclass, caller name, command text, use_check boolean
)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    rel record;
    permissive text;
    restrictive text;
begin
    -- What row-level security adds to caller's command on target: 'true' when it does
    -- not apply (RLS off, BYPASSRLS, the owner), 'false' when no permissive policy does.
    select c.relrowsecurity, c.relforcerowsecurity, c.relowner into rel
    from pg_catalog.pg_class as c where c.oid = target;
    if not rel.relrowsecurity
        or coalesce((select r.rolbypassrls from pg_catalog.pg_roles as r where r.rolname = caller), false)
        or (not rel.relforcerowsecurity and pg_catalog.pg_has_role(caller, rel.relowner, 'USAGE')) then
        return 'true';
    end if;
    select
        string_agg('(' || e.expr || ')', ' or ') filter (where e.polpermissive),
        string_agg('(' || e.expr || ')', ' and ') filter (where not e.polpermissive)
    into permissive, restrictive
    from (
        select
            p.polpermissive,
            coalesce(pg_catalog.pg_get_expr(
                case when use_check then coalesce(p.polwithcheck, p.polqual) else p.polqual end, p.polrelid
            ), 'false') as expr
        from pg_catalog.pg_policy as p
        where p.polrelid = target and p.polcmd::text in (command, '*')
            and (0::oid = any(p.polroles) or exists (
                select from unnest(p.polroles) as r (oid)
                where r.oid <> 0 and pg_catalog.pg_has_role(caller, r.oid, 'USAGE')
            ))
    ) as e;
    if permissive is null then
        return 'false';
    end if;
    return '(' || permissive || ') and ' || coalesce(restrictive, 'true');
end
$$;

comment on function versions._policy_expr(regclass, name, text, boolean) is
'The row-level security condition PostgreSQL applies to a role''s command on a table, as SQL '
'over the table''s columns (USING, or WITH CHECK when use_check).';

create or replace function versions._row_passes(
    target regclass, caller name, command text, use_check boolean, row_data jsonb
)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    condition text := versions._policy_expr(target, caller, command, use_check);
    passes boolean;
begin
    if condition in ('true', 'false') then
        return condition::boolean;
    end if;
    -- The policies are the table owner's SQL; the row is a parameter.
    execute pg_catalog.format(
        'select exists (select from jsonb_populate_record(null::%s, $1) as %I where %s)',
        target, (select c.relname from pg_catalog.pg_class as c where c.oid = target), condition
    ) into passes using row_data;
    return passes;
end
$$;

comment on function versions._row_passes(regclass, name, text, boolean, jsonb) is
'Whether the row (as JSON) passes the table''s row-level policies for the role''s command.';

create or replace function versions._latest(brand_id uuid, table_name text, record_key jsonb)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select v.data from versions._record_versions(_latest.brand_id, _latest.table_name, _latest.record_key) as v
    order by v.version desc
    limit 1
$$;

comment on function versions._latest(uuid, text, jsonb) is
'The record''s latest version (the row as it is now, or as it was when deleted).';

create or replace function versions._assert_may_read(target regclass, latest jsonb)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    caller name := brand.invoking_role();
begin
    if not pg_catalog.has_table_privilege(caller, target, 'SELECT')
        or (latest is not null and not versions._row_passes(target, caller, 'r', false, latest)) then
        raise exception 'permission denied to read the versions of this record of %', target
            using errcode = '42501',
                  hint = 'A record''s versions are readable by those who may read the record in its own '
                      'table (its SELECT privilege and row-level policies).';
    end if;
end
$$;

comment on function versions._assert_may_read(regclass, jsonb) is
'42501 unless the calling role may read the record (its latest version) in its own table.';

-- Dropped first: its OUT columns were (tracked versions.tracked, …) until the composite
-- became plain columns (plpgsql_check warns on a composite OUT beside others), and OUT
-- columns cannot change in place. Only this file's functions call it.
drop function if exists versions.record(regclass, jsonb, text);
create function versions.record(
    target regclass, key jsonb, permission text,
    out table_name text, out key_columns text[], out record_key jsonb, out brand_id uuid
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    tracked versions.tracked;
begin
    if octet_length(key::text) > 8192 then
        raise exception 'record key of % bytes is too large', octet_length(key::text)
            using errcode = '22001', hint = 'Pass only the primary key columns, e.g. {"brand_id": ..., "id": 1}.';
    end if;
    select * into tracked from versions.tracked as t where t.table_name = target::text;
    if not found then
        raise exception 'table % is not versioned', target
            using errcode = '42P01', hint = 'Start with versions.track(table).';
    end if;
    record_key := brand.row_key(key, tracked.key_columns);
    if exists (select from jsonb_each(record_key) as e where e.value = 'null') then
        raise exception 'key % lacks column(s) of the primary key (%)', key,
            array_to_string(tracked.key_columns, ', ')
            using errcode = '22023', hint = 'Pass every primary key column.';
    end if;
    brand_id := (record_key ->> tracked.brand_column)::uuid;
    perform brand.require_permission(brand_id, permission);
    -- And the table's own read access, judged on the record as it is now (or was when
    -- deleted): a viewer holding content.read still cannot read an owner-only table.
    perform versions._assert_may_read(target, versions._latest(brand_id, tracked.table_name, record_key));
    table_name := tracked.table_name;
    key_columns := tracked.key_columns;
end
$$;

comment on function versions.record(regclass, jsonb, text) is
'Resolves a versioned record (tracked table, normalised key, brand) and checks the caller''s '
'permission in the brand and read access to the record in its own table.';

create or replace function versions.history(target regclass, key jsonb, permission text)
returns setof versions.content_versions
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select v.*
    from versions.record(target, key, permission) as r
    cross join lateral versions._record_versions(r.brand_id, r.table_name, r.record_key) as v
$$;

comment on function versions.history(regclass, jsonb, text) is
'Every version of a record, sealed or pending, once the caller''s permission is checked.';

create or replace function versions.list(target regclass, key jsonb)
returns table (
    version integer, operation text, state text, author_id uuid, created_at timestamptz,
    is_published boolean
)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select v.version, v.operation, v.state, v.author_id, v.created_at,
           coalesce(p.version = v.version, false)
    from versions.history(target, key, 'content.read') as v
    left join versions.published as p
        on v.brand_id = p.brand_id and v.table_name = p.table_name and v.record_key = p.record_key
    order by v.version desc
$$;

comment on function versions.list(regclass, jsonb) is 'A record''s versions, newest first.';

create or replace function versions.get(target regclass, key jsonb, n integer)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    found_data jsonb;
begin
    select v.data into found_data from versions.history(target, key, 'content.read') as v
    where v.version = n;
    if not found then
        raise exception 'version % of % % does not exist', n, target, key
            using errcode = 'PT404', hint = 'See versions.list() for the versions there are.';
    end if;
    return found_data;
end
$$;

comment on function versions.get(regclass, jsonb, integer) is 'The row as it was at version n.';

create or replace function versions.at(target regclass, key jsonb, at_time timestamptz)
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select case when v.operation = 'DELETE' then null else v.data end
    from versions.history(target, key, 'content.read') as v
    where v.created_at <= at_time
    order by v.version desc
    limit 1
$$;

comment on function versions.at(regclass, jsonb, timestamptz) is
'The row as it was at a point in time; null if it did not exist then.';

create or replace function versions.diff(target regclass, key jsonb, a integer, b integer)
returns table (column_name text, old_value jsonb, new_value jsonb)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(o.key, n.key), o.value, n.value
    from jsonb_each(versions.get(diff.target, diff.key, diff.a)) as o
    full join jsonb_each(versions.get(diff.target, diff.key, diff.b)) as n on o.key = n.key
    where o.value is distinct from n.value
    order by 1
$$;

comment on function versions.diff(regclass, jsonb, integer, integer) is
'Per column, the value at version a and at version b, for the columns that differ.';

create or replace function versions.restore(target regclass, key jsonb, n integer)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r record := versions.record(target, key, 'content.restore');
    snapshot jsonb := versions.get(target, key, n);
    gone text[];
    lacking text[];
    cols text;
    keys text;
    settable text;
    updated integer;
    caller name := brand.invoking_role();
    live jsonb;
begin
    -- The table may have changed since the version was stored: refuse rather than guess.
    select array_agg(k) into gone from jsonb_object_keys(snapshot) as k
    where not exists (select from pg_catalog.pg_attribute as a
                      where a.attrelid = target and a.attname = k and a.attnum > 0 and not a.attisdropped);
    select array_agg(a.attname) into lacking from pg_catalog.pg_attribute as a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped and a.attnotnull
        and not a.atthasdef and a.attidentity = '' and a.attgenerated = '' and not snapshot ? a.attname;
    if gone is not null or lacking is not null then
        raise exception 'cannot restore version % of %: the table''s columns changed since (dropped: %, new required: %)',
            n, target, coalesce(array_to_string(gone, ', '), 'none'), coalesce(array_to_string(lacking, ', '), 'none')
            using errcode = 'PT409',
                  hint = 'Restore it by hand from versions.get(), or give the new columns defaults.';
    end if;

    select string_agg(pg_catalog.quote_ident(k), ', ') into keys from unnest(r.key_columns) as k;
    -- The write happens as the pack's owner: check first that the calling role could make
    -- it itself (UPDATE of the live row, or INSERT of a deleted one; privilege and policies).
    execute pg_catalog.format(
        'select to_jsonb(t) from %1$s as t where (%2$s) = (select %2$s from jsonb_populate_record(null::%1$s, $1))',
        target, keys) into live using snapshot;
    if not (case when live is not null then
            pg_catalog.has_table_privilege(caller, target, 'UPDATE')
            and versions._row_passes(target, caller, 'w', false, live)
            and versions._row_passes(target, caller, 'w', true, snapshot)
        else
            pg_catalog.has_table_privilege(caller, target, 'INSERT')
            and versions._row_passes(target, caller, 'a', true, snapshot)
        end) then
        raise exception 'permission denied to restore this record of %', target
            using errcode = '42501',
                  hint = 'Restoring writes the row back: it needs the UPDATE (or, for a deleted row, '
                      'INSERT) privilege and row-level policies of the table itself.';
    end if;

    select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum) into cols
    from pg_catalog.pg_attribute as a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
        and snapshot ? a.attname;
    select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum) into settable
    from pg_catalog.pg_attribute as a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
        and a.attidentity <> 'a' and snapshot ? a.attname and a.attname <> all(r.key_columns);

    execute pg_catalog.format(
        'update %1$s set (%2$s) = (select %2$s from jsonb_populate_record(null::%1$s, $1)) '
        'where (%3$s) = (select %3$s from jsonb_populate_record(null::%1$s, $1))',
        target, coalesce(settable, keys), keys) using snapshot;
    get diagnostics updated = row_count;
    if updated = 0 then  -- deleted since: bring it back
        execute pg_catalog.format(
            'insert into %1$s (%2$s) overriding system value select %2$s from jsonb_populate_record(null::%1$s, $1)',
            target, cols) using snapshot;
    end if;
    return (select max(v.version) from versions.history(target, key, 'content.restore') as v);
end
$$;

comment on function versions.restore(regclass, jsonb, integer) is
'Writes version n back into the table (re-creating a deleted row), which stores a new '
'version; returns the record''s latest version number. Permission content.restore.';

create or replace function versions.publish(target regclass, key jsonb, n integer default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r record := versions.record(target, key, 'content.publish');
    chosen integer;
begin
    select v.version into chosen from versions.history(target, key, 'content.publish') as v
    where (n is null or v.version = n) and v.operation <> 'DELETE'
    order by v.version desc limit 1;
    if chosen is null then
        raise exception 'no publishable version % of % %', coalesce(n::text, '(latest)'), target, r.record_key
            using errcode = 'PT404', hint = 'Deleted rows cannot be published; restore them first.';
    end if;
    insert into versions.published (brand_id, table_name, record_key, version, published_at, published_by)
    values (r.brand_id, r.table_name, r.record_key, chosen, brandbase.now(), brand.caller_id())
    on conflict (brand_id, table_name, record_key) do update
    set version = excluded.version, published_at = excluded.published_at, published_by = excluded.published_by;
    return chosen;
end
$$;

comment on function versions.publish(regclass, jsonb, integer) is
'Records version n (default: the latest) as the live one. Permission content.publish.';

create or replace function versions.prune()
returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$
    with ranked as (
        select v.brand_id, v.table_name, v.record_key, v.version, v.created_at, t.keep_last, t.keep_for,
               row_number() over (
                   partition by v.brand_id, v.table_name, v.record_key order by v.version desc
               ) as age
        from versions.sealed_versions as v
        inner join versions.tracked as t on v.table_name = t.table_name
        where t.keep_last is not null or t.keep_for is not null
    ),
    doomed as (
        delete from versions.sealed_versions as v
        using ranked as r
        where v.brand_id = r.brand_id and v.table_name = r.table_name
            and v.record_key = r.record_key and v.version = r.version
            and r.age > coalesce(r.keep_last, 1)
            and (r.keep_for is null or r.created_at < brandbase.now() - r.keep_for)
            and not exists (
                select from versions.published as p
                where p.brand_id = v.brand_id and p.table_name = v.table_name
                    and p.record_key = v.record_key and p.version = v.version
            )
        returning 1
    )
    select count(*)::integer from doomed
$$;

comment on function versions.prune() is
'Retention: deletes versions that are neither among the last keep_last of their record nor '
'newer than keep_for; never the latest nor the published one. Returns how many.';

revoke all on function
versions.record(regclass, jsonb, text),
versions.history(regclass, jsonb, text),
versions.list(regclass, jsonb),
versions.get(regclass, jsonb, integer),
versions.at(regclass, jsonb, timestamptz),
versions.diff(regclass, jsonb, integer, integer),
versions.restore(regclass, jsonb, integer),
versions.publish(regclass, jsonb, integer),
versions.prune()
from public;

-- record() and history() take the permission to check: internal, not for the API roles.
revoke all on function
versions._policy_expr(regclass, name, text, boolean),
versions._row_passes(regclass, name, text, boolean, jsonb),
versions._latest(uuid, text, jsonb),
versions._assert_may_read(regclass, jsonb)
from public;
revoke execute on function
versions.record(regclass, jsonb, text),
versions.history(regclass, jsonb, text)
from authenticated, service_role;

grant execute on function
versions.list(regclass, jsonb),
versions.get(regclass, jsonb, integer),
versions.at(regclass, jsonb, timestamptz),
versions.diff(regclass, jsonb, integer, integer),
versions.restore(regclass, jsonb, integer),
versions.publish(regclass, jsonb, integer)
to authenticated, service_role;

select brand.schedule('versions-prune', '41 3 * * *', 'select versions.prune()');
select brand.schedule('versions-seal', '* * * * *', 'select versions.seal()');
