-- audit: capture. One generic statement-level trigger function reads the transition
-- tables, so a bulk statement writes its entries in one INSERT ... SELECT. PL/pgSQL
-- compiles trigger functions per trigger, so each tracked table gets its own cached plans.

create or replace function audit.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    -- tg_argv: brand column ('' = none), key columns, excluded columns, skip no-op updates
    brand_col text := tg_argv[0];
    keys text[] := tg_argv[1]::text[];
    excluded text[] := tg_argv[2]::text[];
    skip_noop boolean := tg_argv[3]::boolean;
    tbl text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
    ctx record := brand.request_context();
    nil uuid := '00000000-0000-0000-0000-000000000000';
    olds jsonb[];
    news jsonb[];
begin
    -- Queries that read transition tables are planned at every call, so they stay
    -- trivial; the real work reads plain variables and runs on a cached plan.
    if tg_op in ('UPDATE', 'DELETE') then
        olds := (select array_agg(to_jsonb(t) - excluded) from old_rows as t);
    end if;
    if tg_op in ('UPDATE', 'INSERT') then
        news := (select array_agg(to_jsonb(t) - excluded) from new_rows as t);
    end if;
    if tg_op = 'TRUNCATE' then
        insert into audit.logs (brand_id, occurred_at, table_name, record_key, operation,
                                actor_id, actor_role, request_id, client_ip)
        values (nil, brandbase.now(), tbl, '{}', 'TRUNCATE',
                ctx.actor_id, ctx.actor_role, ctx.request_id, ctx.client_ip);
        return null;
    end if;
    -- Pair old and new rows by key. INSERT has no old side and DELETE no new side; an
    -- UPDATE that changed a row's key leaves both unpaired, each logged whole.
    insert into audit.logs (brand_id, occurred_at, table_name, record_key, operation, old_data,
                            new_data, actor_id, actor_role, request_id, client_ip)
    select coalesce((coalesce(n.r, o.r) ->> brand_col)::uuid, nil), brandbase.now(), tbl,
           coalesce(n.k, o.k), tg_op, d.old_values, d.new_values,
           ctx.actor_id, ctx.actor_role, ctx.request_id, ctx.client_ip
    from (select r, pos, brand.row_key(r, keys) as k from unnest(olds) with ordinality as u (r, pos)) as o
    full join (select r, pos, brand.row_key(r, keys) as k from unnest(news) with ordinality as u (r, pos)) as n
        on o.k = n.k
    cross join lateral (
        select
            case when n.r is null then o.r
                 when o.r is not null then jsonb_object_agg(e.key, o.r -> e.key) end as old_values,
            case when o.r is null then n.r
                 when n.r is not null then jsonb_object_agg(e.key, e.value) end as new_values
        from jsonb_each(case when o.r is not null then n.r end) as e
        where (o.r -> e.key) is distinct from e.value
    ) as d
    where not (skip_noop and d.old_values is null and d.new_values is null)
    order by coalesce(n.pos, o.pos);  -- entries keep the statement's row order
    return null;
end
$$;

comment on function audit.tg_capture() is
'Statement-level trigger that writes audit.logs entries from the transition tables.';

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
audit.tg_capture(),
audit.track(regclass, text[], boolean, name),
audit.untrack(regclass)
from public;
