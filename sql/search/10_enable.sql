-- search: enabling a table. search.enable() adds a stored generated tsvector column built
-- from weighted columns, a GIN index on it (on (brand, vector) when btree_gin is
-- installed), a btree on (brand, recency) that serves the candidate scan of common terms,
-- and pg_trgm GIN indexes on the chosen columns, and builds the table's typo lexicon
-- (search.words). Idempotent; runs as the table's owner (no superuser: every object it
-- makes belongs to the table's owner).

drop policy if exists "signed-in roles read which tables are searchable" on search.indexed;  -- noqa: RF05
create policy "signed-in roles read which tables are searchable" on search.indexed  -- noqa: RF05
for select to authenticated, service_role using (true);
revoke all on search.indexed from public, anon, authenticated;
grant select on search.indexed to authenticated, service_role;
-- search.words holds every brand's words: the owner's functions alone read it.
revoke all on search.words from public, anon, authenticated, service_role;

create or replace function search._extension_schema(extension name)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select n.nspname::text
    from pg_catalog.pg_extension as e
    inner join pg_catalog.pg_namespace as n on e.extnamespace = n.oid
    where e.extname = extension
$$;

comment on function search._extension_schema(name) is
'The schema an extension is installed in, or null when it is not installed.';

create or replace function search._unaccent_config(base regconfig)
returns regconfig
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
-- A copy of the configuration whose word mappings pass through unaccent first: the
-- tsvector stays an immutable expression (unaccent() itself is only stable).
declare
    ext text := search._extension_schema('unaccent');
    name text := 'unaccent_' || (select c.cfgname from pg_catalog.pg_ts_config as c where c.oid = base);
begin
    if ext is null then
        return null;
    end if;
    if pg_catalog.to_regnamespace('search') is not null
        and not exists (
            select from pg_catalog.pg_ts_config as c
            where c.cfgname = name and c.cfgnamespace = 'search'::regnamespace
        ) then
        execute pg_catalog.format('create text search configuration search.%I (copy = %s)', name, base);
        execute pg_catalog.format(
            'alter text search configuration search.%I alter mapping for hword, hword_part, word '
            'with %I.unaccent, %s', name, ext,
            (select pg_catalog.string_agg(d.dictname::text, ', ' order by m.mapseqno)
             from pg_catalog.pg_ts_config_map as m
             inner join pg_catalog.pg_ts_dict as d on m.mapdict = d.oid
             where m.mapcfg = base and m.maptokentype = (
                 select t.tokid from pg_catalog.ts_token_type('default') as t where t.alias = 'word'
             ))
        );
    end if;
    return pg_catalog.format('search.%I', name)::regconfig;
end
$$;

comment on function search._unaccent_config(regconfig) is
'search.unaccent_<config>: the configuration with unaccent before its dictionaries (null '
'when the extension unaccent is not installed).';

-- A row's language as text, resolved to a configuration of pg_catalog or of this module
-- (unknown or null: null, so the table's configuration applies). Tables store the name as
-- text: a regconfig column would block pg_upgrade, which refuses reg* values in tables.
-- Declared immutable for the generated column: configurations are not renamed or dropped
-- under an index that uses them (search.disable() first).
create or replace function search.config_of(language text)
returns regconfig
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select c.oid::regconfig
    from pg_catalog.pg_ts_config as c
    where c.cfgname = pg_catalog.lower(language)
        and c.cfgnamespace in ('pg_catalog'::regnamespace, pg_catalog.to_regnamespace('search'))
    order by c.cfgnamespace = 'pg_catalog'::regnamespace desc
    limit 1
$$;

comment on function search.config_of(text) is
'The text search configuration named by a row''s language column (english, german, …); null '
'when unknown.';

-- The roles that write an enabled table compute its generated column (anon writes none).
revoke all on function search.config_of(text) from public;
grant execute on function search.config_of(text) to authenticated, service_role;

create or replace function search._vector_expr(
    columns jsonb, config regconfig, language_column text
)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.string_agg(
        pg_catalog.format(
            'setweight(to_tsvector(%s, coalesce(%I::text, %L)), %L)',
            case when language_column is null then pg_catalog.format('%L::regconfig', config)
                 else pg_catalog.format('coalesce(search.config_of(%I), %L::regconfig)',
                     language_column, config) end,
            c.key, '', c.value
        ),
        ' || ' order by c.value, c.key
    )
    from pg_catalog.jsonb_each_text(columns) as c
$$;

comment on function search._vector_expr(jsonb, regconfig, text) is
'The generated column''s expression: one setweight(to_tsvector(...)) per weighted column.';

create or replace function search._index_name(target regclass, suffix text)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.left(c.relname::text, 40) || '_search_' || suffix
    from pg_catalog.pg_class as c where c.oid = target
$$;

comment on function search._index_name(regclass, text) is 'The name search.enable() gives an index it makes.';

create or replace function search.enable(
    target regclass,
    columns jsonb,
    config regconfig default 'english',
    options jsonb default '{}'
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    schema_name text := (
        select n.nspname from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid where c.oid = target
    );
    brand_col text := coalesce(options ->> 'brand_column', 'brand_id');
    vector_col text := coalesce(options ->> 'vector_column', 'search_tsv');
    language_col text := options ->> 'language_column';
    recency_col text := options ->> 'recency_column';
    popularity_col text := options ->> 'popularity_column';
    trigram_cols text[] := coalesce(array(select pg_catalog.jsonb_array_elements_text(options -> 'trigram')), '{}');
    filter_cols text[] := coalesce(array(select pg_catalog.jsonb_array_elements_text(options -> 'filters')), '{}');
    want_unaccent boolean := coalesce((options ->> 'unaccent')::boolean, false);
    read_perm text := options ->> 'read_permission';
    keys text[] := brand.key_columns(target);
    gin_schema text := search._extension_schema('btree_gin');
    trgm_schema text := search._extension_schema('pg_trgm');
    vector_config regconfig := config;
    expr text;
    current_row search.indexed;
    col text;
    bad text;
begin
    if jsonb_typeof(columns) is distinct from 'object' or columns = '{}' then
        raise exception 'columns must be a non-empty object of column: weight'
            using errcode = '22023', hint = 'e.g. ''{"title": "A", "body": "B"}''; weights are A, B, C or D.';
    end if;
    if jsonb_typeof(options) is distinct from 'object' then
        raise exception 'options must be a JSON object'
            using errcode = '22023', hint = 'e.g. ''{"trigram": ["title"], "recency_column": "created_at"}''.';
    end if;
    select c.key into bad from pg_catalog.jsonb_each_text(columns) as c
    where c.value not in ('A', 'B', 'C', 'D') limit 1;
    if bad is not null then
        raise exception 'column % has weight %, not A, B, C or D', bad, columns ->> bad
            using errcode = '22023', hint = 'Weights are A (highest) to D.';
    end if;
    select u.c into bad
    from unnest(
        array(select pg_catalog.jsonb_object_keys(columns))
        || trigram_cols || filter_cols
        || array_remove(array[brand_col, language_col, recency_col, popularity_col], null)
    ) as u (c)
    where not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = u.c and a.attnum > 0 and not a.attisdropped
    )
    limit 1;
    if bad is not null then
        raise exception 'table % has no column %', target, bad
            using errcode = '42703', hint = 'Name columns of the table itself.';
    end if;
    if not brand_col = any(keys) then
        raise exception 'the primary key of % does not contain %', target, brand_col
            using errcode = '42P16',
                  hint = 'Brand-scoped tables lead their primary key with brand_id (see docs/scaling.md).';
    end if;
    if language_col is not null and (
        select a.atttypid from pg_catalog.pg_attribute as a where a.attrelid = target and a.attname = language_col
    ) not in ('text'::regtype, 'character varying'::regtype) then
        raise exception 'language column % must be of type text', language_col
            using errcode = '22023',
                  hint = 'Store the configuration''s name (english, german, …) as text; a regconfig '
                         'column would block pg_upgrade.';
    end if;
    if read_perm is not null then
        perform brand.assert_permission(read_perm);
    end if;
    if cardinality(trigram_cols) > 0 and trgm_schema is null then
        raise exception 'trigram indexes need the extension pg_trgm'
            using errcode = '22023', hint = 'create extension pg_trgm with schema extensions (as a superuser).';
    end if;
    if want_unaccent then
        vector_config := search._unaccent_config(config);
        if vector_config is null then
            raise warning 'unaccent is not installed: % is indexed without folding accents', target
                using hint = 'create extension unaccent with schema extensions, then search.enable() again.';
            vector_config := config;
            want_unaccent := false;
        end if;
    end if;
    expr := search._vector_expr(columns, vector_config, language_col);

    -- One enable at a time per table, and none while a concurrent one commits.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('search.enable'), target::oid::integer);
    select * into current_row from search.indexed as i where i.target = enable.target::text;
    if found and (
        current_row.columns <> columns or current_row.config <> config::text
        or current_row.language_column is distinct from language_col
        or current_row.vector_column <> vector_col or current_row.unaccent <> want_unaccent
    ) then
        perform search.disable(target);
        current_row := null;
    end if;

    if not exists (
        select from pg_catalog.pg_attribute as a
        where a.attrelid = target and a.attname = vector_col and not a.attisdropped
    ) then
        execute pg_catalog.format(
            'alter table %s add column %I tsvector generated always as (%s) stored', target, vector_col, expr
        );
        execute pg_catalog.format(
            'comment on column %s.%I is %L', target, vector_col,
            'Search vector (search.enable): ' || columns::text
        );
    end if;
    -- Without fastupdate: a write's entries would otherwise wait in the index's pending
    -- list, which every search reads whole (a few hundred pages after a few hundred
    -- updates: 2-13 ms on every query, even one matching nothing) until a vacuum. An
    -- index made by an earlier version (no fastupdate setting) is switched and its pending
    -- list merged; an operator's own setting (e.g. fastupdate = on with a small
    -- gin_pending_list_limit, for a write-heavy table) is kept.
    if gin_schema is not null then
        execute pg_catalog.format(
            'create index if not exists %I on %s using gin (%I, %I) with (fastupdate = off)',
            search._index_name(target, 'gin'), target, brand_col, vector_col
        );
    else
        execute pg_catalog.format(
            'create index if not exists %I on %s using gin (%I) with (fastupdate = off)',
            search._index_name(target, 'gin'), target, vector_col
        );
    end if;
    if exists (
        select from pg_catalog.pg_class as c
        where c.oid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', schema_name, search._index_name(target, 'gin')))
            and not exists (select from pg_catalog.unnest(c.reloptions) as o where o like 'fastupdate=%')
    ) then
        execute pg_catalog.format(
            'alter index %I.%I set (fastupdate = off)', schema_name, search._index_name(target, 'gin')
        );
        perform pg_catalog.gin_clean_pending_list(
            pg_catalog.format('%I.%I', schema_name, search._index_name(target, 'gin'))::regclass
        );
    end if;
    if recency_col is not null then
        execute pg_catalog.format(
            -- nulls last, as search.query() orders its candidates: the backward walk of this
            -- index that stops after `candidates` matches is the plan for common terms.
            'create index if not exists %I on %s (%I, %I desc nulls last)',
            search._index_name(target, 'recent'), target, brand_col, recency_col
        );
    end if;
    -- Trigram indexes no longer wanted go; wanted ones are made.
    foreach col in array coalesce(current_row.trigram_columns, '{}') loop
        if not col = any(trigram_cols) then
            execute pg_catalog.format(
                'drop index if exists %I.%I', schema_name, search._index_name(target, 'trgm_' || col)
            );
        end if;
    end loop;
    foreach col in array trigram_cols loop
        execute pg_catalog.format(
            'create index if not exists %I on %s using gin (%I %I.%I)',
            -- the operator class named in pieces: pg_trgm is optional, not a requirement
            -- of the pack (brandbase migrate's preflight looks for its names)
            search._index_name(target, 'trgm_' || col), target, col, trgm_schema, 'gin_' || 'trgm_ops'
        );
    end loop;
    if current_row.recency_column is not null and current_row.recency_column is distinct from recency_col then
        execute pg_catalog.format('drop index if exists %I.%I', schema_name, search._index_name(target, 'recent'));
    end if;

    insert into search.indexed as i (
        target, config, columns, language_column, trigram_columns, filter_columns, recency_column,
        popularity_column, brand_column, key_columns, vector_column, composite_gin, unaccent, trigram_schema,
        read_permission
    ) values (
        target::text, config::text, columns, language_col, trigram_cols, filter_cols, recency_col,
        popularity_col, brand_col, keys, vector_col, gin_schema is not null, want_unaccent, trgm_schema,
        read_perm
    )
    on conflict on constraint indexed_pkey do update set
        trigram_columns = excluded.trigram_columns, filter_columns = excluded.filter_columns,
        recency_column = excluded.recency_column, popularity_column = excluded.popularity_column,
        key_columns = excluded.key_columns, composite_gin = excluded.composite_gin,
        trigram_schema = excluded.trigram_schema, read_permission = excluded.read_permission;
    execute pg_catalog.format('analyze %s', target);
    perform search.refresh_lexicon(target);
end
$$;

comment on function search.enable(regclass, jsonb, regconfig, jsonb) is
'Makes a table searchable: a stored generated tsvector of the weighted columns, its GIN index '
'(brand + vector with btree_gin), a (brand, recency) btree, trigram indexes. Options: trigram '
'(columns), filters (columns the app may filter and facet on), recency_column, popularity_column, '
'language_column (text: a configuration name per row), unaccent, brand_column, vector_column, '
'read_permission (the permission the table''s read policy amounts to; see docs/search.md). '
'Idempotent; a changed definition rebuilds the vector.';

revoke all on function search.enable(regclass, jsonb, regconfig, jsonb) from public;

create or replace function search.disable(target regclass)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    current_row search.indexed;
    schema_name text := (
        select n.nspname from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid where c.oid = target
    );
    col text;
begin
    select * into current_row from search.indexed as i where i.target = disable.target::text;
    if not found then
        raise notice 'table % is not search-enabled; nothing to do', target;
        return;
    end if;
    foreach col in array current_row.trigram_columns loop
        execute pg_catalog.format('drop index if exists %I.%I', schema_name, search._index_name(target, 'trgm_' || col));
    end loop;
    execute pg_catalog.format('drop index if exists %I.%I', schema_name, search._index_name(target, 'recent'));
    -- Dropping the column drops its GIN index with it.
    execute pg_catalog.format('alter table %s drop column if exists %I', target, current_row.vector_column);
    delete from search.words as w where w.table_name = target::text;
    delete from search.indexed as i where i.target = disable.target::text;
end
$$;

comment on function search.disable(regclass) is
'Undoes search.enable(): drops the vector column and the indexes it made. Idempotent.';

revoke all on function search.disable(regclass) from public;

revoke all on function
search._extension_schema(name), search._unaccent_config(regconfig),
search._vector_expr(jsonb, regconfig, text), search._index_name(regclass, text)
from public;
