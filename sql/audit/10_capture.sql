-- audit: capture. One generic statement-level trigger function stores each statement
-- raw in audit.captures: its transition rows as json (json_agg: no parse into jsonb on
-- the write path) and the statement's constants (table, operation, transaction, brand
-- and key columns, request context, time). Keys, brands, changed columns and the
-- decision to skip a no-op update are the sealer's (audit.seal()) and the readers'
-- (audit.logs), through one function, audit._entries(). PL/pgSQL compiles trigger
-- functions per trigger, so each tracked table gets its own cached plans. What a
-- single-row statement costs is mostly executor start-up, so each operation is one
-- statement of few plan nodes.
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

drop function if exists audit._entry(text, text, text, text[], jsonb, jsonb, jsonb);

-- An entry's id: its capture's id * 2^20 + its position in the statement (from 0). A
-- statement of more rows is stored as several captures of at most 2^20 rows each. Plain
-- SQL without a SET clause, every name qualified, so that it inlines into the sealer's and
-- the readers' statements (a function call per capture cost 90 us more than the work).
drop function if exists audit._entries(audit.captures);
create or replace function audit._entries(
    cap_id bigint, cap_txid bigint, cap_at timestamptz, cap_table text, cap_operation text,
    cap_brand_column text, cap_key_columns text[], cap_skip_noop boolean, cap_old_rows json,
    cap_new_rows json, cap_actor_id uuid, cap_actor_role text, cap_request_id text, cap_client_ip inet
)
returns table (
    brand_id uuid, occurred_at timestamptz, id bigint, table_name text, record_key jsonb, operation text,
    old_data jsonb, new_data jsonb, actor_id uuid, actor_role text, txid bigint, request_id text,
    client_ip inet
)
language sql
stable
parallel safe
as $$
    select coalesce((r.key_row ->> nullif(_entries.cap_brand_column, ''))::uuid,
                    '00000000-0000-0000-0000-000000000000'),
           _entries.cap_at, _entries.cap_id * 1048576 + r.pos, _entries.cap_table,
           case when _entries.cap_operation = 'TRUNCATE' then '{}'::jsonb
               else brand.row_key(r.key_row, _entries.cap_key_columns) end,
           _entries.cap_operation, r.old_data, r.new_data, _entries.cap_actor_id, _entries.cap_actor_role,
           _entries.cap_txid, _entries.cap_request_id, _entries.cap_client_ip
    from (
        -- Each row is parsed into jsonb once (offset 0 keeps the planner from copying the
        -- cast into every use: unfenced, an UPDATE row was parsed about ten times).
        select x.pos, x.row_data as key_row, null::jsonb as old_data, x.row_data as new_data
        from (
            select e.ord - 1 as pos, e.value::jsonb as row_data
            from json_array_elements(_entries.cap_new_rows) with ordinality as e (value, ord)
            offset 0
        ) as x
        where _entries.cap_operation = 'INSERT'
        union all
        select x.pos, x.row_data, x.row_data, null
        from (
            select e.ord - 1 as pos, e.value::jsonb as row_data
            from json_array_elements(_entries.cap_old_rows) with ordinality as e (value, ord)
            offset 0
        ) as x
        where _entries.cap_operation = 'DELETE'
        union all
        -- Old and new rows pair by position in the two transition tables.
        select j.pos, j.new_row, ch.old_values, ch.new_values
        from (
            select u.ord - 1 as pos, u.old_json::jsonb as old_row, u.new_json::jsonb as new_row
            from rows from (
                json_array_elements(_entries.cap_old_rows), json_array_elements(_entries.cap_new_rows)
            ) with ordinality as u (old_json, new_json, ord)
            offset 0
        ) as j
        cross join lateral audit._changes(j.old_row, j.new_row) as ch
        where _entries.cap_operation = 'UPDATE' and not (_entries.cap_skip_noop and ch.new_values is null)
        union all
        select 0, null, null, null
        where _entries.cap_operation = 'TRUNCATE'
    ) as r
$$;

comment on function audit._entries(
    bigint, bigint, timestamptz, text, text, text, text[], boolean, json, json, uuid, text, text, inet
) is
'The entries of one capture, as audit.logs shows them and audit.seal() stores them: one per row '
'(for UPDATE: changed columns only; no-op rows skipped when the table says so), keyed and branded.';

create or replace function audit.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
-- tg_argv: brand column ('' = none), key columns, excluded columns, skip no-op updates.
-- Each operation is one statement that reads the trigger's arguments itself: PL/pgSQL
-- sets up every variable and condition again in each transaction, which costs more
-- than the statement's own work for one row. A statement that changed no row stores
-- nothing. The transition tables are read in their order, which pairs old and new rows.
begin
    if tg_op = 'TRUNCATE' then
        insert into audit.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                    skip_noop_updates, actor_id, actor_role, request_id, client_ip)
        select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
               '', '{}', false, ctx.*
        from brand.request_context() as ctx;
        return null;
    end if;
    if tg_argv[2] = '{}' then
        -- The common case: no excluded columns, at most 2^20 rows.
        if tg_op = 'UPDATE' then
            insert into audit.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                        skip_noop_updates, old_rows, new_rows, actor_id, actor_role,
                                        request_id, client_ip)
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, o.agg, n.agg, ctx.*
            from (select json_agg(t.*) as agg, count(*) as n from old_rows as t) as o,
                (select json_agg(t.*) as agg from new_rows as t) as n,
                brand.request_context() as ctx
            where o.n between 1 and 1048576;
        elsif tg_op = 'INSERT' then
            insert into audit.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                        skip_noop_updates, new_rows, actor_id, actor_role, request_id,
                                        client_ip)
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, n.agg, ctx.*
            from (select json_agg(t.*) as agg, count(*) as n from new_rows as t) as n,
                brand.request_context() as ctx
            where n.n between 1 and 1048576;
        else
            insert into audit.captures (txid, occurred_at, table_name, operation, brand_column, key_columns,
                                        skip_noop_updates, old_rows, actor_id, actor_role, request_id,
                                        client_ip)
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, o.agg, ctx.*
            from (select json_agg(t.*) as agg, count(*) as n from old_rows as t) as o,
                brand.request_context() as ctx
            where o.n between 1 and 1048576;
        end if;
        if found then
            return null;
        end if;
    end if;
    -- Excluded columns (removed before anything is stored), or a statement of more than
    -- 2^20 rows (stored as captures of 2^20 rows each, in order), or no row at all.
    if tg_op = 'UPDATE' then
        insert into audit.captures (id, txid, occurred_at, table_name, operation, brand_column, key_columns,
                                    skip_noop_updates, old_rows, new_rows, actor_id, actor_role,
                                    request_id, client_ip)
        select nextval('audit.captures_id_seq'), s.*
        from (
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, o.agg, n.agg, ctx.*
            from (
                select (x.rn - 1) / 1048576 as chunk, json_agg(x.j order by x.rn) as agg
                from (select row_number() over () as rn, to_jsonb(t.*) - tg_argv[2]::text[] as j
                      from old_rows as t) as x
                group by 1
            ) as o
            inner join (
                select (x.rn - 1) / 1048576 as chunk, json_agg(x.j order by x.rn) as agg
                from (select row_number() over () as rn, to_jsonb(t.*) - tg_argv[2]::text[] as j
                      from new_rows as t) as x
                group by 1
            ) as n on o.chunk = n.chunk
            cross join brand.request_context() as ctx
            order by o.chunk
            offset 0
        ) as s;
    elsif tg_op = 'INSERT' then
        insert into audit.captures (id, txid, occurred_at, table_name, operation, brand_column, key_columns,
                                    skip_noop_updates, new_rows, actor_id, actor_role, request_id, client_ip)
        select nextval('audit.captures_id_seq'), s.*
        from (
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, r.agg, ctx.*
            from (
                select (x.rn - 1) / 1048576 as chunk, json_agg(x.j order by x.rn) as agg
                from (select row_number() over () as rn, to_jsonb(t.*) - tg_argv[2]::text[] as j
                      from new_rows as t) as x
                group by 1
            ) as r
            cross join brand.request_context() as ctx
            order by r.chunk
            offset 0
        ) as s;
    else
        insert into audit.captures (id, txid, occurred_at, table_name, operation, brand_column, key_columns,
                                    skip_noop_updates, old_rows, actor_id, actor_role, request_id, client_ip)
        select nextval('audit.captures_id_seq'), s.*
        from (
            select pg_current_xact_id()::text::bigint, brandbase.now(), tg_relid::regclass::text, tg_op,
                   tg_argv[0], tg_argv[1]::text[], tg_argv[3]::boolean, r.agg, ctx.*
            from (
                select (x.rn - 1) / 1048576 as chunk, json_agg(x.j order by x.rn) as agg
                from (select row_number() over () as rn, to_jsonb(t.*) - tg_argv[2]::text[] as j
                      from old_rows as t) as x
                group by 1
            ) as r
            cross join brand.request_context() as ctx
            order by r.chunk
            offset 0
        ) as s;
    end if;
    return null;
end
$$;

comment on function audit.tg_capture() is
'Statement-level trigger that stores each statement''s transition rows raw (json) in audit.captures.';

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
audit._entries(
    bigint, bigint, timestamptz, text, text, text, text[], boolean, json, json, uuid, text, text, inet
),
audit.tg_capture(),
audit.track(regclass, text[], boolean, name),
audit.untrack(regclass)
from public;
