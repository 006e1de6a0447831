-- brand: what the trigger-driven modules (audit, versions) share to capture row changes:
-- a table's key columns, column checks, the request context, and statement-level
-- triggers with transition tables, so a bulk statement costs one trigger call, not one
-- per row.

create or replace function brand.key_columns(target regclass)
returns text[]
language plpgsql
stable
set search_path = ''
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
set search_path = ''
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

create or replace function brand.request_context(
    out actor_id uuid, out actor_role text, out request_id text, out client_ip inet
)
language plpgsql
stable
set search_path = ''
as $$
declare
    claims jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    raw_headers text := nullif(pg_catalog.current_setting('request.headers', true), '');
    headers jsonb;
    forwarded text;
begin
    actor_id := (claims ->> 'sub')::uuid;
    actor_role := coalesce(claims ->> 'role', current_user::text);
    if raw_headers is null then
        return;
    end if;
    begin
        headers := raw_headers::jsonb;
    exception when invalid_text_representation then
        return;  -- unreadable headers never block a write; the evidence is simply absent
    end;
    request_id := left(coalesce(headers ->> 'x-request-id', headers ->> 'x-correlation-id'), 200);
    -- The first X-Forwarded-For hop is what the client claimed; recorded as evidence only.
    forwarded := btrim(split_part(coalesce(headers ->> 'x-forwarded-for', headers ->> 'x-real-ip', ''), ',', 1));
    if forwarded ~ '^([0-9]{1,3}\.){3}[0-9]{1,3}$' or forwarded ~ '^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$' then
        client_ip := forwarded::inet;
    end if;
end
$$;

comment on function brand.request_context() is
'Who and where a change comes from: user id, JWT role (else the database role), '
'request id and client IP from PostgREST''s request.headers when present.';

create or replace function brand.install_capture_triggers(
    target regclass, prefix text, handler regproc, args text[], with_truncate boolean default false
)
returns void
language plpgsql
set search_path = ''
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
set search_path = ''
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
brand.request_context(),
brand.install_capture_triggers(regclass, text, regproc, text[], boolean),
brand.drop_capture_triggers(regclass, text)
from public;
