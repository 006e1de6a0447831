-- audit: capture. One generic statement-level trigger function reads the transition
-- tables, so a bulk statement writes its entries in one INSERT ... SELECT. It writes to
-- the inbox (audit.logs_inbox: one index, no monthly routing); audit.seal() moves
-- entries into the monthly log later. PL/pgSQL compiles trigger functions per trigger,
-- so each tracked table gets its own cached plans.

create or replace function audit._entries(
    table_name text, operation text, brand_column text, key_columns text[], skip_noop boolean,
    old_rows jsonb[], new_rows jsonb[]
)
returns table (
    brand_id uuid, occurred_at timestamptz, table_name text, record_key jsonb, operation text,
    old_data jsonb, new_data jsonb, actor_id uuid, actor_role text, request_id text, client_ip inet
)
language sql
stable
as $$
    select coalesce((coalesce(r.new_row, r.old_row) ->> brand_column)::uuid, '00000000-0000-0000-0000-000000000000'),
           brandbase.now(), _entries.table_name, brand.row_key(coalesce(r.new_row, r.old_row), key_columns),
           _entries.operation, d.old_values, d.new_values,
           ctx.actor_id, ctx.actor_role, ctx.request_id, ctx.client_ip
    from brand.captured_rows(old_rows, new_rows) as r
    cross join lateral (
        -- An UPDATE keeps the changed columns only, old and new values.
        select
            case when r.new_row is null then r.old_row
                 when r.old_row is not null then jsonb_object_agg(e.key, r.old_row -> e.key) end as old_values,
            case when r.old_row is null then r.new_row
                 when r.new_row is not null then jsonb_object_agg(e.key, e.value) end as new_values
        from jsonb_each(case when r.old_row is not null then r.new_row end) as e
        where (r.old_row -> e.key) is distinct from e.value
    ) as d
    cross join brand.request_context() as ctx
    where not (skip_noop and d.old_values is null and d.new_values is null)
    order by r.pos  -- ids follow the statement's row order
$$;

comment on function audit._entries(text, text, text, text[], boolean, jsonb[], jsonb[]) is
'The entries for the rows a statement changed (inlined into audit.tg_capture()).';

create or replace function audit.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- tg_argv: brand column ('' = none), key columns, excluded columns, skip no-op updates
    brand_col text := tg_argv[0];
    keys text[] := tg_argv[1]::text[];
    excluded text[] := tg_argv[2]::text[];
    skip_noop boolean := tg_argv[3]::boolean;
    tbl text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
    -- One statement per operation: each names only the transition tables it has.
    if tg_op = 'UPDATE' then
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select * from audit._entries(tbl, tg_op, brand_col, keys, skip_noop,
                                     array(select to_jsonb(t) - excluded from old_rows as t),
                                     array(select to_jsonb(t) - excluded from new_rows as t));
    elsif tg_op = 'INSERT' then
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select * from audit._entries(tbl, tg_op, brand_col, keys, skip_noop,
                                     null, array(select to_jsonb(t) - excluded from new_rows as t));
    elsif tg_op = 'DELETE' then
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select * from audit._entries(tbl, tg_op, brand_col, keys, skip_noop,
                                     array(select to_jsonb(t) - excluded from old_rows as t), null);
    else
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation,
                                      actor_id, actor_role, request_id, client_ip)
        select '00000000-0000-0000-0000-000000000000', brandbase.now(), tbl, '{}', tg_op, ctx.*
        from brand.request_context() as ctx;
    end if;
    return null;
end
$$;

comment on function audit.tg_capture() is
'Statement-level trigger that writes audit entries from the transition tables into the inbox.';

create or replace function audit.track(
    target regclass,
    exclude_columns text[] default '{}',
    skip_noop_updates boolean default true,
    brand_column name default 'brand_id'
)
returns void
language plpgsql
set search_path = ''
as $$
declare
    keys text[] := brand.key_columns(target);
    brand_col text := brand_column;
begin
    perform brand.assert_columns(target, exclude_columns);
    if exclude_columns && (keys || brand_column::text) then
        raise exception 'cannot exclude key or brand columns (%) from the audit of %',
            array_to_string(exclude_columns, ', '), target
            using errcode = '22023', hint = 'Entries identify rows by these columns.';
    end if;
    if not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = brand_column and not a.attisdropped
    ) then
        if brand_column <> 'brand_id' then
            perform brand.assert_columns(target, array[brand_column::text]);
        end if;
        brand_col := '';  -- a table without brands: entries go to the nil brand
    end if;
    perform brand.install_capture_triggers(
        target, 'audit_capture', 'audit.tg_capture'::regproc,
        array[brand_col, keys::text, coalesce(exclude_columns, '{}')::text, skip_noop_updates::text],
        with_truncate => true
    );
    insert into audit.tracked (table_name, key_columns, excluded_columns, brand_column, skip_noop_updates)
    values (target::text, keys, coalesce(exclude_columns, '{}'), nullif(brand_col, ''), skip_noop_updates)
    on conflict (table_name) do update
    set key_columns = excluded.key_columns, excluded_columns = excluded.excluded_columns,
        brand_column = excluded.brand_column, skip_noop_updates = excluded.skip_noop_updates;
end
$$;

comment on function audit.track(regclass, text[], boolean, name) is
'Starts (or re-configures) auditing a table with a primary key: inserts, updates (changed '
'columns only), deletes and truncates. Idempotent.';

create or replace function audit.untrack(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
    perform brand.drop_capture_triggers(target, 'audit_capture');
    delete from audit.tracked where table_name = target::text;
end
$$;

comment on function audit.untrack(regclass) is 'Stops auditing a table; its entries stay. Idempotent.';

revoke all on function
audit._entries(text, text, text, text[], boolean, jsonb[], jsonb[]),
audit.tg_capture(),
audit.track(regclass, text[], boolean, name),
audit.untrack(regclass)
from public;
