-- brand: what the trigger-driven modules (audit, versions) share to capture row changes:
-- a table's key columns, column checks, the request context, and statement-level
-- triggers with transition tables, so a bulk statement costs one trigger call, not one
-- per row. A single-row statement must stay cheap too (issue 3: +20% at most), so the
-- pieces here are plain SQL that inlines into the trigger's one statement.

create or replace function brand.key_columns(target regclass)
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    cols text[];
begin
    select array_agg(a.attname::text order by k.ord) into cols
    from pg_catalog.pg_index as i
    cross join lateral unnest(i.indkey) with ordinality as k (attnum, ord)
    inner join pg_catalog.pg_attribute as a on i.indrelid = a.attrelid and k.attnum = a.attnum
    where i.indrelid = target and i.indisprimary;
    if cols is null then
        raise exception 'table % has no primary key', target
            using errcode = '42P16',
                  hint = 'Change capture identifies rows by their primary key; add one.';
    end if;
    return cols;
end
$$;

comment on function brand.key_columns(regclass) is
'The primary key columns of a table, in key order; 42P16 when it has none.';

create or replace function brand.assert_columns(target regclass, cols text[])
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    missing text[];
begin
    select array_agg(c) into missing
    from unnest(coalesce(cols, '{}')) as c
    where not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = c and a.attnum > 0 and not a.attisdropped
    );
    if missing is not null then
        raise exception 'table % has no column(s) %', target, array_to_string(missing, ', ')
            using errcode = '42703', hint = 'Check the column names against the table.';
    end if;
end
$$;

comment on function brand.assert_columns(regclass, text[]) is
'Raises 42703 naming every listed column the table does not have.';

create or replace function brand.row_key_wide(row_data jsonb, key_columns text[])
returns jsonb
language sql
immutable
parallel safe
as $$
    select jsonb_object_agg(c, row_data -> c) from unnest(key_columns) as c
$$;

comment on function brand.row_key_wide(jsonb, text[]) is
'brand.row_key() for keys of more than three columns.';

-- row_key() stays inlinable for keys of up to three columns, the common case: no
-- sub-select, and stable like jsonb_build_object (an immutable label would block inlining).
create or replace function brand.row_key(row_data jsonb, key_columns text[])
returns jsonb
language sql
stable
parallel safe
as $$
    select case cardinality(key_columns)
        when 1 then jsonb_build_object(key_columns[1], row_data -> key_columns[1])
        when 2 then jsonb_build_object(
            key_columns[1], row_data -> key_columns[1], key_columns[2], row_data -> key_columns[2]
        )
        when 3 then jsonb_build_object(
            key_columns[1], row_data -> key_columns[1], key_columns[2], row_data -> key_columns[2],
            key_columns[3], row_data -> key_columns[3]
        )
        else brand.row_key_wide(row_data, key_columns)
    end
$$;

comment on function brand.row_key(jsonb, text[]) is
'The key of a row given as jsonb: {"col": value, ...} over the key columns.';

-- Evidence only, and never an error: odd headers must not block a write. Plain IPv4 is
-- checked without the subtransaction an exception block costs.
create or replace function brand.forwarded_ip(headers text)
returns inet
language plpgsql
immutable
parallel safe
as $$
declare
    -- The first X-Forwarded-For hop is what the client claimed.
    hop text := btrim(split_part(coalesce(
        substring(headers from '"x-forwarded-for"\s*:\s*"([^"]*)"'),
        substring(headers from '"x-real-ip"\s*:\s*"([^"]*)"'), ''
    ), ',', 1));
begin
    if hop ~ '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$' then
        return case when 255 >= all(string_to_array(hop, '.')::int[]) then hop::inet end;
    end if;
    if hop ~ '^[0-9a-fA-F:.]+$' and strpos(hop, ':') > 0 then
        begin
            return hop::inet;
        exception when invalid_text_representation then
            return null;  -- looked like IPv6, is not
        end;
    end if;
    return null;
end
$$;

comment on function brand.forwarded_ip(text) is
'The client address PostgREST''s request.headers (JSON text) claim: the first '
'X-Forwarded-For hop (else X-Real-IP) when it is an IP address, else null; never an error.';

-- Capture reads the context once per statement, so it must cost next to nothing: plain
-- expressions, inlined into the capturing statement (no function call, no SET clause,
-- no sub-select) unless PostgREST's headers are there. Headers are matched in their
-- JSON text rather than parsed: headers that are not JSON then never block a write.
drop function if exists brand.request_context();
create function brand.request_context()
returns table (actor_id uuid, actor_role text, request_id text, client_ip inet)
language sql
stable
as $$
    select
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid,
        coalesce(
            nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', current_user::text
        ),
        left(coalesce(
            substring(pg_catalog.current_setting('request.headers', true) from '"x-request-id"\s*:\s*"([^"]*)"'),
            substring(pg_catalog.current_setting('request.headers', true) from '"x-correlation-id"\s*:\s*"([^"]*)"')
        ), 200),
        case when pg_catalog.current_setting('request.headers', true) <> ''
            then brand.forwarded_ip(pg_catalog.current_setting('request.headers', true)) end
$$;

comment on function brand.request_context() is
'Who and where a change comes from (one row): user id, JWT role (else the database role), '
'request id and client IP from PostgREST''s request.headers when present.';

create or replace function brand.install_capture_triggers(
    target regclass, prefix text, handler regproc, args text[], with_truncate boolean default false
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    event text;
    transition text;
    arg_list text := (select string_agg(pg_catalog.quote_literal(a), ', ') from unnest(args) as a);
begin
    perform brand.drop_capture_triggers(target, prefix);
    foreach event in array array['insert', 'update', 'delete'] loop
        transition := case event
            when 'insert' then 'new table as new_rows'
            when 'update' then 'old table as old_rows new table as new_rows'
            else 'old table as old_rows'
        end;
        execute pg_catalog.format(
            'create trigger %I after %s on %s referencing %s for each statement execute function %s(%s)',
            prefix || '_' || event, event, target, transition, handler, arg_list
        );
    end loop;
    if with_truncate then
        execute pg_catalog.format(
            'create trigger %I after truncate on %s for each statement execute function %s(%s)',
            prefix || '_truncate', target, handler, arg_list
        );
    end if;
end
$$;

comment on function brand.install_capture_triggers(regclass, text, regproc, text[], boolean) is
'(Re)creates statement-level AFTER triggers <prefix>_insert|update|delete[|truncate] with '
'transition tables new_rows / old_rows, calling handler(args).';

create or replace function brand.drop_capture_triggers(target regclass, prefix text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    event text;
begin
    foreach event in array array['insert', 'update', 'delete', 'truncate'] loop
        if exists (
            select from pg_catalog.pg_trigger
            where tgrelid = target and tgname = prefix || '_' || event
        ) then
            execute pg_catalog.format('drop trigger %I on %s', prefix || '_' || event, target);
        end if;
    end loop;
end
$$;

comment on function brand.drop_capture_triggers(regclass, text) is
'Drops the triggers brand.install_capture_triggers() made with that prefix.';

revoke all on function
brand.key_columns(regclass),
brand.assert_columns(regclass, text[]),
brand.row_key(jsonb, text[]),
brand.row_key_wide(jsonb, text[]),
brand.forwarded_ip(text),
brand.request_context(),
brand.install_capture_triggers(regclass, text, regproc, text[], boolean),
brand.drop_capture_triggers(regclass, text)
from public;
