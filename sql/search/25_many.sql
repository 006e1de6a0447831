-- search: one ranked list over several search-enabled tables (search.query_many and its
-- api wrapper): each table's page from search.query, merged by score.

create or replace function search.query_many(targets regclass[], q text, options jsonb default '{}')
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
-- One ranked list over several search-enabled tables: each table's page (search.query),
-- merged by score. The cursor holds one cursor per table, advanced only past the hits
-- that made it into the merged page; a table whose hits are used up is left out.
declare
    opts jsonb := coalesce(options, '{}'::jsonb);
    page_size integer;
    cursors jsonb;
    target regclass;
    answer jsonb;
    pool jsonb := '[]'::jsonb;
    total bigint := 0;
    estimate boolean := false;
    suggestion text;
    query_ids jsonb := '{}'::jsonb;
    returned jsonb := '{}'::jsonb;
    merged jsonb;
    next_cursors jsonb := '{}'::jsonb;
    taken jsonb;
    last_hit jsonb;
    more boolean := false;
begin
    if cardinality(targets) is null or cardinality(targets) > 5 then
        raise exception 'search 1 to 5 tables at once, not %', coalesce(cardinality(targets), 0)
            using errcode = '22023', hint = 'Pass an array of search-enabled tables.';
    end if;
    if pg_catalog.jsonb_typeof(opts) <> 'object' or pg_catalog.pg_column_size(opts) > 8192 then
        raise exception 'search options must be a JSON object of at most 8 kB'
            using errcode = '22023', hint = 'e.g. {"brand_id": "...", "limit": 20}.';
    end if;
    begin
        page_size := least(greatest(coalesce((opts ->> 'limit')::integer, 20), 1), 100);
    exception when others then
        raise exception 'options.limit must be an integer'
            using errcode = '22023', hint = 'limit: 1 to 100 (20).';
    end;
    cursors := opts -> 'cursor';
    if cursors is not null and cursors <> 'null' and pg_catalog.jsonb_typeof(cursors) <> 'object' then
        raise exception 'options.cursor is not a cursor search.query_many() returned'
            using errcode = '22023', hint = 'Pass next_cursor of the previous page as it was.';
    end if;
    if cursors = 'null' then
        cursors := null;
    end if;
    foreach target in array (select array_agg(distinct t) from unnest(targets) as t) loop
        -- On later pages, a table absent from the cursor has nothing more.
        continue when cursors is not null and not cursors ? target::text;
        answer := search.query(target, q, (opts - 'cursor') || pg_catalog.jsonb_build_object(
            'limit', page_size, 'cursor', cursors -> target::text
        ));
        total := total + (answer ->> 'total')::bigint;
        estimate := estimate or (answer ->> 'total_is_estimate')::boolean;
        suggestion := coalesce(suggestion, answer ->> 'did_you_mean');
        query_ids := query_ids || pg_catalog.jsonb_build_object(target::text, answer -> 'query_id');
        returned := returned || pg_catalog.jsonb_build_object(target::text, pg_catalog.jsonb_build_object(
            'n', pg_catalog.jsonb_array_length(answer -> 'hits'), 'next', answer -> 'next_cursor',
            't', coalesce(cursors -> target::text ->> 't', brandbase.now()::text),
            'm', case when (answer ->> 'typo_fallback')::boolean then 'typo' else 'text' end
        ));
        pool := pool || coalesce((
            select pg_catalog.jsonb_agg(h || pg_catalog.jsonb_build_object('table', target::text))
            from pg_catalog.jsonb_array_elements(answer -> 'hits') as h
        ), '[]');
    end loop;
    select coalesce(pg_catalog.jsonb_agg(h order by (h ->> 'score')::float8 desc, h ->> 'table', (h -> 'key')::text desc), '[]')
    into merged
    from (
        select h from pg_catalog.jsonb_array_elements(pool) as h
        order by (h ->> 'score')::float8 desc, h ->> 'table', (h -> 'key')::text desc
        limit page_size
    ) as x;
    -- Each table's next cursor: past its last hit in the page, or its own next page.
    for target in select pg_catalog.jsonb_object_keys(returned)::regclass loop
        taken := coalesce((select pg_catalog.jsonb_agg(h) from pg_catalog.jsonb_array_elements(merged) as h
                           where h ->> 'table' = target::text), '[]');
        if pg_catalog.jsonb_array_length(taken) = (returned -> target::text ->> 'n')::integer then
            if returned -> target::text -> 'next' <> 'null' then
                next_cursors := next_cursors || pg_catalog.jsonb_build_object(target::text, returned -> target::text -> 'next');
                more := true;
            end if;
        else
            last_hit := taken -> (pg_catalog.jsonb_array_length(taken) - 1);
            next_cursors := next_cursors || pg_catalog.jsonb_build_object(target::text, case when last_hit is null
                then cursors -> target::text
                else pg_catalog.jsonb_build_object('s', last_hit -> 'score', 'k', last_hit -> 'key',
                    't', returned -> target::text -> 't', 'm', returned -> target::text -> 'm') end);
            more := true;
        end if;
    end loop;
    return pg_catalog.jsonb_build_object(
        'query_ids', query_ids,
        'hits', merged,
        'total', total,
        'total_is_estimate', estimate,
        'did_you_mean', suggestion,
        'next_cursor', case when more then next_cursors end
    );
end
$$;

comment on function search.query_many(regclass[], text, jsonb) is
'One ranked list over 1 to 5 search-enabled tables (each hit names its table); options as in '
'search.query (facets are per table there, not here); next_cursor holds a cursor per table.';

revoke all on function search.query_many(regclass[], text, jsonb) from public;
grant execute on function search.query_many(regclass[], text, jsonb) to authenticated, service_role;

create or replace function api.search_many(table_names text[], q text, options jsonb default '{}')
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    targets regclass[] := '{}'::regclass[];
    name text;
    target regclass;
begin
    if cardinality(table_names) > 5 then
        raise exception 'search 1 to 5 tables at once, not %', cardinality(table_names)
            using errcode = '22023', hint = 'Pass an array of search-enabled tables.';
    end if;
    foreach name in array coalesce(table_names, '{}') loop
        if octet_length(name) > 200 then
            raise exception 'table name of % bytes is too long', octet_length(name)
                using errcode = '22001', hint = 'Name it schema-qualified, e.g. public.posts.';
        end if;
        begin
            target := pg_catalog.to_regclass(name);
        exception when others then
            target := null;
        end;
        if target is null then
            raise exception 'table % does not exist', name
                using errcode = '42P01', hint = 'Name a search-enabled table, schema-qualified, e.g. public.posts.';
        end if;
        targets := targets || target;
    end loop;
    return search.query_many(targets, q, options);
end
$$;

comment on function api.search_many(text[], text, jsonb) is
'Search several tables in one ranked list: '
'POST /rpc/search_many {"table_names": [...], "q": ..., "options": {...}}.';

revoke all on function api.search_many(text[], text, jsonb) from public;
grant execute on function api.search_many(text[], text, jsonb) to authenticated, service_role;
