-- versions: capture. A statement-level trigger (the core's capture helpers) stores every
-- inserted or updated row as its next numbered version, and a tombstone on delete.
-- Updates that change nothing make no version.

create or replace function versions.tg_capture()
returns trigger
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    -- tg_argv: brand column, key columns, state column ('' = none)
    brand_col text := tg_argv[0];
    keys text[] := tg_argv[1]::text[];
    state_col text := nullif(tg_argv[2], '');
    tbl text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
    author uuid := (brand.request_context()).actor_id;
    changed jsonb[];
begin
    -- Transition tables are read by trivial queries only (they are planned per call).
    if tg_op = 'DELETE' then
        changed := (select array_agg(to_jsonb(t)) from old_rows as t);
    else
        changed := (select array_agg(to_jsonb(t)) from new_rows as t);
    end if;
    insert into versions.content_versions
        (brand_id, table_name, record_key, version, operation, data, state, author_id, created_at)
    select (c.r ->> brand_col)::uuid, tbl, c.k, coalesce(latest.version, 0) + 1, tg_op, c.r,
           c.r ->> state_col, author, brandbase.now()
    from (select r, brand.row_key(r, keys) as k from unnest(changed) as r) as c
    left join lateral (
        select v.version, v.data, v.operation
        from versions.content_versions as v
        where v.brand_id = (c.r ->> brand_col)::uuid and v.table_name = tbl and v.record_key = c.k
        order by v.version desc
        limit 1
    ) as latest on true
    where tg_op = 'DELETE' or latest.operation is null or latest.operation = 'DELETE'
        or latest.data is distinct from c.r;
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
versions.tg_capture(),
versions.track(regclass, integer, interval, name, name),
versions.untrack(regclass)
from public;
