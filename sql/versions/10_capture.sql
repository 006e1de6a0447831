-- versions: capture. A statement-level trigger (the core's capture helpers) stores every
-- inserted or updated row as its next numbered version, and a tombstone on delete.
-- Updates that change nothing make no version.

create or replace function versions._versions(
    table_name text, operation text, brand_column text, key_columns text[], state_column text,
    old_rows jsonb[], new_rows jsonb[]
)
returns table (
    brand_id uuid, table_name text, record_key jsonb, version integer, operation text, data jsonb,
    state text, author_id uuid, created_at timestamptz
)
language sql
stable
as $$
    select c.brand_id, _versions.table_name, c.record_key,
           coalesce((
               select max(v.version) from versions.content_versions as v
               where v.brand_id = c.brand_id and v.table_name = _versions.table_name
                   and v.record_key = c.record_key
           ), 0) + 1,
           _versions.operation, c.data, c.data ->> state_column, ctx.actor_id, brandbase.now()
    from (
        -- A DELETE stores the row as it was: the tombstone.
        select (coalesce(r.new_row, r.old_row) ->> brand_column)::uuid as brand_id,
               brand.row_key(coalesce(r.new_row, r.old_row), key_columns) as record_key,
               coalesce(r.new_row, r.old_row) as data
        from brand.captured_rows(old_rows, new_rows) as r
        where r.old_row is distinct from r.new_row
    ) as c
    cross join brand.request_context() as ctx
$$;

comment on function versions._versions(text, text, text, text[], text, jsonb[], jsonb[]) is
'The next version of every row a statement changed (inlined into versions.tg_capture()).';

create or replace function versions.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- tg_argv: brand column, key columns, state column ('' = none)
    brand_col text := tg_argv[0];
    keys text[] := tg_argv[1]::text[];
    state_col text := nullif(tg_argv[2], '');
    tbl text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
    -- One statement per operation: each names only the transition tables it has.
    if tg_op = 'UPDATE' then
        insert into versions.content_versions
            (brand_id, table_name, record_key, version, operation, data, state, author_id, created_at)
        select * from versions._versions(tbl, tg_op, brand_col, keys, state_col,
                                         array(select to_jsonb(t) from old_rows as t),
                                         array(select to_jsonb(t) from new_rows as t));
    elsif tg_op = 'INSERT' then
        insert into versions.content_versions
            (brand_id, table_name, record_key, version, operation, data, state, author_id, created_at)
        select * from versions._versions(tbl, tg_op, brand_col, keys, state_col,
                                         null, array(select to_jsonb(t) from new_rows as t));
    else
        insert into versions.content_versions
            (brand_id, table_name, record_key, version, operation, data, state, author_id, created_at)
        select * from versions._versions(tbl, tg_op, brand_col, keys, state_col,
                                         array(select to_jsonb(t) from old_rows as t), null);
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
set search_path = ''
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
set search_path = ''
as $$
begin
    perform brand.drop_capture_triggers(target, 'versions_capture');
    delete from versions.tracked where table_name = target::text;
end
$$;

comment on function versions.untrack(regclass) is 'Stops versioning a table; its versions stay. Idempotent.';

revoke all on function
versions._versions(text, text, text, text[], text, jsonb[], jsonb[]),
versions.tg_capture(),
versions.track(regclass, integer, interval, name, name),
versions.untrack(regclass)
from public;
