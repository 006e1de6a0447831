-- i18n: content translations. i18n.translatable(table, columns) keeps per-row, per-locale
-- values of an app table's text columns in i18n.content and makes a security_invoker view
-- <table>_i18n that shows each row with those columns in the request's locale (first
-- along its fallback chain), else the row's own value. The view runs under the table's
-- RLS and the content's (members with i18n.read see translations; others the originals).

create or replace function i18n.translatable(target regclass, columns text[])
returns text
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    keys text[] := brand.key_columns(target);
    view_name text;
    cols text;
    key_expr text;
    c text;
    rel_schema text;
    rel_name text;
begin
    perform brand.assert_columns(target, columns || array['brand_id']);
    if pg_catalog.cardinality(columns) not between 1 and 50 then
        raise exception 'translatable takes 1-50 columns' using errcode = '22023',
            hint = 'Name the text columns to translate, e.g. array[''name'', ''description''].';
    end if;
    foreach c in array columns loop
        if not exists (
            select from pg_catalog.pg_attribute as a
            where a.attrelid = target and a.attname = c and a.atttypid in ('text'::regtype, 'varchar'::regtype)
        ) then
            raise exception 'column % of % is not text', c, target using errcode = '42703',
                hint = 'Only text and varchar columns can be translated.';
        end if;
    end loop;
    select n.nspname, cl.relname into rel_schema, rel_name
    from pg_catalog.pg_class as cl inner join pg_catalog.pg_namespace as n on cl.relnamespace = n.oid
    where cl.oid = target;
    view_name := pg_catalog.format('%I.%I', rel_schema, rel_name || '_i18n');
    key_expr := 'pg_catalog.jsonb_build_object(' || (
        select pg_catalog.string_agg(pg_catalog.format('%L, t.%I', k, k), ', ') from pg_catalog.unnest(keys) as k
    ) || ')';
    select pg_catalog.string_agg(
        case when a.attname::text = any(columns) then pg_catalog.format(
            'coalesce((select c.value from i18n.content as c where c.brand_id = t.brand_id '
            'and c.table_name = %L and c.row_key = %s and c.column_name = %L and c.locale = any(r.chain) '
            'order by pg_catalog.array_position(r.chain, c.locale) limit 1), t.%I) as %I',
            target::text, key_expr, a.attname, a.attname, a.attname)
        else pg_catalog.format('t.%I', a.attname) end, ', ' order by a.attnum)
    into cols
    from pg_catalog.pg_attribute as a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped;
    insert into i18n.translatables as x (table_name, columns, key_columns, view_name)
    values (target::text, columns, keys, view_name)
    on conflict on constraint translatables_pkey do update set
        columns = excluded.columns, key_columns = excluded.key_columns, view_name = excluded.view_name;
    execute pg_catalog.format(
        'create or replace view %s with (security_invoker = true) as select %s from %s as t '
        'cross join (select i18n.request_chain() as chain) as r', view_name, cols, target);
    execute pg_catalog.format('comment on view %s is %L', view_name,
        pg_catalog.format('%s with %s in the request''s locale (i18n.translatable).', target,
            pg_catalog.array_to_string(columns, ', ')));
    return view_name;
end
$$;

comment on function i18n.translatable(regclass, text[]) is
'Makes the text columns of a brand table translatable per row and locale, and (re)creates the view '
'<table>_i18n showing them in the request''s locale (owner only; grant the view like the table).';

create or replace function i18n.set_content(
    table_name text, row_key jsonb, column_name text, locale text, value text
)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    t i18n.translatables;
    b uuid;
    tag text;
begin
    if pg_catalog.length(table_name) > 200 or pg_catalog.length(row_key::text) > 1000
        or pg_catalog.length(column_name) > 63 or pg_catalog.length(value) > 100000
    then
        raise exception 'content translation too large' using errcode = '22001',
            hint = 'A value has at most 100000 characters, a row key 1000.';
    end if;
    if pg_catalog.jsonb_typeof(row_key) is distinct from 'object'
        or (row_key ->> 'brand_id') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
    then
        raise exception 'row_key must be the row''s primary key as a JSON object with its brand_id'
            using errcode = '22023', hint = 'e.g. {"brand_id": "...", "id": 42}';
    end if;
    b := (row_key ->> 'brand_id')::uuid;
    perform brand.require_permission(b, 'i18n.manage');
    select * into t from i18n.translatables as x where x.table_name = set_content.table_name;
    if not found or not column_name = any(t.columns) then
        raise exception 'column % of % is not translatable', column_name, table_name using errcode = '22023',
            hint = 'See i18n.translatables; the owner adds columns with i18n.translatable.';
    end if;
    if (select pg_catalog.array_agg(k order by k) from pg_catalog.jsonb_object_keys(row_key) as k)
        is distinct from (select pg_catalog.array_agg(k order by k) from pg_catalog.unnest(t.key_columns) as k)
    then
        raise exception 'row_key must name exactly the key columns %', t.key_columns using errcode = '22023',
            hint = 'Pass the row''s primary key columns, no more.';
    end if;
    tag := i18n._check_key('content', 'row', locale);
    if value is null then
        delete from i18n.content as c
        where c.brand_id = b and c.table_name = t.table_name and c.row_key = set_content.row_key
            and c.column_name = set_content.column_name and c.locale = tag;
    else
        insert into i18n.content as c (brand_id, table_name, row_key, column_name, locale, value, updated_by)
        values (b, t.table_name, row_key, column_name, tag, value, brand.caller_id())
        on conflict on constraint content_pkey do update set
            value = excluded.value, updated_by = excluded.updated_by, updated_at = pg_catalog.now();
    end if;
end
$$;

comment on function i18n.set_content(text, jsonb, text, text, text) is
'Sets (or with value null removes) a row''s translation of a translatable column in a locale '
'(i18n.manage in the row''s brand, taken from row_key.brand_id).';

revoke all on function i18n.translatable(regclass, text[]), i18n.set_content(text, jsonb, text, text, text)
from public;
grant execute on function i18n.set_content(text, jsonb, text, text, text) to authenticated, service_role;
