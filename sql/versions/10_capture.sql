-- versions: capture. A statement-level trigger (the core's capture helpers) stores every
-- inserted or updated row as its next numbered version, and a tombstone on delete.
-- Updates that change nothing make no version. Like audit's, each operation is one
-- statement of few plan nodes: executor start-up is most of what a single row costs.

create or replace function versions._version(
    table_name text, operation text, brand_column text, key_columns text[], state_column text, data jsonb,
    author_id uuid
)
returns table (
    brand_id uuid, table_name text, record_key jsonb, version integer, operation text, data jsonb,
    state text, author_id uuid, created_at timestamptz
)
language sql
stable
as $$
    select k.brand_id, _version.table_name, k.record_key,
           -- Rows of one record change one statement at a time (the row lock orders them).
           coalesce((
               select max(v.version) from versions.content_versions as v
               where v.brand_id = k.brand_id and v.table_name = _version.table_name
                   and v.record_key = k.record_key
           ), 0) + 1,
           _version.operation, _version.data, _version.data ->> state_column, _version.author_id, brandbase.now()
    from (
        -- offset 0: the key is computed once, not again inside the version lookup.
        select (_version.data ->> brand_column)::uuid as brand_id, brand.row_key(_version.data, key_columns) as record_key
        offset 0
    ) as k
$$;

comment on function versions._version(text, text, text, text[], text, jsonb, uuid) is
'The next version of one changed row, as stored (inlined into versions.tg_capture()).';

create or replace function versions.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
as $$
-- tg_argv: brand column, key columns, state column ('' = none). As in audit.tg_capture(),
-- each operation is one statement that reads the trigger's arguments itself (PL/pgSQL
-- sets up every variable again in each transaction); rows pass through an array so
-- that each row's to_jsonb() runs once, not once per use, and the author is read once
-- per statement (materialized), not once per row.
begin
    if tg_op = 'UPDATE' then
        -- Old and new rows pair by position; rows the statement did not change get no version.
        insert into versions.content_versions
        with ctx as materialized (select * from brand.request_context())
        select v.*
        from ctx, unnest(array(select to_jsonb(t) from old_rows as t), array(select to_jsonb(t) from new_rows as t))
            as r (old_row, new_row)
        cross join lateral versions._version(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            nullif(tg_argv[2], ''), r.new_row, ctx.actor_id
        ) as v
        where r.old_row is distinct from r.new_row;
    elsif tg_op = 'INSERT' then
        insert into versions.content_versions
        with ctx as materialized (select * from brand.request_context())
        select v.*
        from ctx, unnest(array(select to_jsonb(t) from new_rows as t)) as r (j)
        cross join lateral versions._version(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            nullif(tg_argv[2], ''), r.j, ctx.actor_id
        ) as v;
    else
        -- The tombstone holds the row as it was.
        insert into versions.content_versions
        with ctx as materialized (select * from brand.request_context())
        select v.*
        from ctx, unnest(array(select to_jsonb(t) from old_rows as t)) as r (j)
        cross join lateral versions._version(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            nullif(tg_argv[2], ''), r.j, ctx.actor_id
        ) as v;
    end if;
    return null;
end
$$;

comment on function versions.tg_capture() is
'Statement-level trigger that stores the next version of every changed row.';

create or replace function versions.track(
    target regclass,
    keep_last integer default null,
    keep_for interval default null,
    state_column name default null,
    brand_column name default 'brand_id'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    keys text[] := brand.key_columns(target);
    -- The draft/published state: the named column, else a column called status or state.
    state_col text := coalesce(state_column, (
        select a.attname from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname in ('status', 'state') and not a.attisdropped
        order by a.attname = 'status' desc limit 1
    ));
begin
    perform brand.assert_columns(target, array_remove(array[brand_column::text, state_column::text], null));
    if not brand_column::text = any(keys) then
        raise exception 'the primary key of % does not contain %', target, brand_column
            using errcode = '42P16',
                  hint = 'Brand-scoped tables lead their primary key with brand_id (see docs/scaling.md).';
    end if;
    if keep_last <= 0 or keep_for <= interval '0' then
        raise exception 'retention must be positive (keep_last %, keep_for %)', keep_last, keep_for
            using errcode = '22023', hint = 'Leave both null to keep every version.';
    end if;
    perform brand.install_capture_triggers(
        target, 'versions_capture', 'versions.tg_capture'::regproc,
        array[brand_column::text, keys::text, coalesce(state_col, '')]
    );
    insert into versions.tracked (table_name, key_columns, brand_column, state_column, keep_last, keep_for)
    values (target::text, keys, brand_column, state_col, keep_last, keep_for)
    on conflict (table_name) do update
    set key_columns = excluded.key_columns, brand_column = excluded.brand_column,
        state_column = excluded.state_column, keep_last = excluded.keep_last,
        keep_for = excluded.keep_for;
end
$$;

comment on function versions.track(regclass, integer, interval, name, name) is
'Starts (or re-configures) versioning a brand-scoped table: every insert/update stores a '
'numbered version; retention keeps the last keep_last versions or those newer than keep_for; '
'the state column defaults to one named status or state.';

create or replace function versions.untrack(target regclass)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.drop_capture_triggers(target, 'versions_capture');
    delete from versions.tracked where table_name = target::text;
end
$$;

comment on function versions.untrack(regclass) is 'Stops versioning a table; its versions stay. Idempotent.';

revoke all on function
versions._version(text, text, text, text[], text, jsonb, uuid),
versions.tg_capture(),
versions.track(regclass, integer, interval, name, name),
versions.untrack(regclass)
from public;
