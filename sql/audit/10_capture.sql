-- audit: capture. One generic statement-level trigger function reads the transition
-- tables, so a bulk statement writes its entries in one INSERT ... SELECT. It writes to
-- the inbox (audit.logs_inbox: one index, no monthly routing); audit.seal() moves
-- entries into the monthly log later. PL/pgSQL compiles trigger functions per trigger,
-- so each tracked table gets its own cached plans. What a single-row statement costs
-- is mostly executor start-up, so each operation is one statement of few plan nodes.

create or replace function audit._changes(old_row jsonb, new_row jsonb)
returns table (old_values jsonb, new_values jsonb)
language sql
immutable
parallel safe
as $$
    select nullif(old_row - s.same, '{}'), nullif(new_row - s.same, '{}')
    from (
        -- The unchanged columns, computed once (offset 0: not copied into each use).
        select array(select e.key from jsonb_each(new_row) as e where (old_row -> e.key) = e.value) as same
        offset 0
    ) as s
$$;

comment on function audit._changes(jsonb, jsonb) is
'An UPDATE''s changed columns only: old and new values (nulls when nothing changed).';

create or replace function audit._entry(
    table_name text, operation text, brand_column text, key_columns text[], key_row jsonb,
    old_data jsonb, new_data jsonb
)
returns table (
    brand_id uuid, occurred_at timestamptz, table_name text, record_key jsonb, operation text,
    old_data jsonb, new_data jsonb
)
language sql
stable  -- like brand.row_key(): a function labelled immutable would not inline it
as $$
    select coalesce((key_row ->> brand_column)::uuid, '00000000-0000-0000-0000-000000000000'),
           brandbase.now(), _entry.table_name, brand.row_key(key_row, key_columns), _entry.operation,
           _entry.old_data, _entry.new_data
$$;

comment on function audit._entry(text, text, text, text[], jsonb, jsonb, jsonb) is
'One entry as the inbox stores it, less the request context (inlined into audit.tg_capture()).';

create or replace function audit.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
as $$
-- tg_argv: brand column ('' = none), key columns, excluded columns, skip no-op updates.
-- Each operation is one statement that reads the trigger's arguments itself: PL/pgSQL
-- sets up every variable and condition again in each transaction, which costs more
-- than the statement's own work for one row. Rows pass through an array so that each
-- row's to_jsonb() runs once, not once per use. Entries follow the statement's row order.
begin
    if tg_op = 'UPDATE' then
        -- Old and new rows pair by position in the two transition tables.
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select e.*, ctx.*
        from unnest(
            array(select to_jsonb(t) - tg_argv[2]::text[] from old_rows as t),
            array(select to_jsonb(t) - tg_argv[2]::text[] from new_rows as t)
        ) as r (old_row, new_row)
        cross join brand.request_context() as ctx
        cross join lateral audit._changes(r.old_row, r.new_row) as c
        cross join lateral audit._entry(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            r.new_row, c.old_values, c.new_values
        ) as e
        where not (tg_argv[3]::boolean and c.new_values is null);
    elsif tg_op = 'INSERT' then
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select e.*, ctx.*
        from unnest(array(select to_jsonb(t) - tg_argv[2]::text[] from new_rows as t)) as r (j)
        cross join brand.request_context() as ctx
        cross join lateral audit._entry(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            r.j, null, r.j
        ) as e;
    elsif tg_op = 'DELETE' then
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation, old_data,
                                      new_data, actor_id, actor_role, request_id, client_ip)
        select e.*, ctx.*
        from unnest(array(select to_jsonb(t) - tg_argv[2]::text[] from old_rows as t)) as r (j)
        cross join brand.request_context() as ctx
        cross join lateral audit._entry(
            tg_relid::regclass::text, tg_op, tg_argv[0], tg_argv[1]::text[],
            r.j, r.j, null
        ) as e;
    else
        insert into audit.logs_inbox (brand_id, occurred_at, table_name, record_key, operation,
                                      actor_id, actor_role, request_id, client_ip)
        select '00000000-0000-0000-0000-000000000000', brandbase.now(),
               tg_relid::regclass::text, '{}', tg_op, ctx.*
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
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
as $$
begin
    perform brand.drop_capture_triggers(target, 'audit_capture');
    delete from audit.tracked where table_name = target::text;
end
$$;

comment on function audit.untrack(regclass) is 'Stops auditing a table; its entries stay. Idempotent.';

-- Named as text, the table is resolved here: an unknown one gets 42P01 with a hint (a
-- regclass argument fails in the cast, before the function runs, without one).
create or replace function audit._table(target text)
returns regclass
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    resolved regclass := pg_catalog.to_regclass(target);
begin
    if resolved is null then
        raise exception 'table % does not exist', coalesce(left(target, 200), 'null')
            using errcode = '42P01',
                  hint = 'Name it schema-qualified, e.g. public.posts (and create it before tracking it).';
    end if;
    return resolved;
end
$$;

comment on function audit._table(text) is
'A table named as text, as a regclass; 42P01 with a hint if unknown.';

create or replace function audit.track(
    target text,
    exclude_columns text[] default '{}',
    skip_noop_updates boolean default true,
    brand_column name default 'brand_id'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform audit.track(audit._table(target), exclude_columns, skip_noop_updates, brand_column);
end
$$;

comment on function audit.track(text, text[], boolean, name) is
'audit.track() for a table named as text (what a string literal resolves to): 42P01 with a '
'hint for an unknown table.';

create or replace function audit.untrack(target text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform audit.untrack(audit._table(target));
end
$$;

comment on function audit.untrack(text) is 'audit.untrack() for a table named as text.';

revoke all on function
audit._table(text),
audit.track(text, text[], boolean, name),
audit.untrack(text),
audit._changes(jsonb, jsonb),
audit._entry(text, text, text, text[], jsonb, jsonb, jsonb),
audit.tg_capture(),
audit.track(regclass, text[], boolean, name),
audit.untrack(regclass)
from public;
