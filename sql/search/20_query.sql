-- search: querying. search.query() runs as its caller and never ranks every match: the
-- candidate step (search._rank, 15_rank.sql) takes at most `candidates` matches of the
-- brand, the newest first, and ranks those; it runs as the pack's owner when the table's
-- read policy is known (the GIN index is then usable under RLS), else as the caller. The
-- page's rows are read again as the caller, under RLS, and only they are highlighted.
-- See docs/search.md for what the candidate limit gives up.

create or replace function search.parse_query(config regconfig, q text, prefix boolean default true)
returns tsquery
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
-- websearch_to_tsquery syntax (quotes, or, -), plus a prefix match on the last word while
-- it is being typed: not inside an open quote, not negated, at least 3 characters.
declare
    last_word text := pg_catalog.substring(q, '([[:alnum:]_]+)$');
    head text;
    quotes integer := pg_catalog.length(q) - pg_catalog.length(pg_catalog.replace(q, '"', ''));
    head_query tsquery;
    last_query tsquery;
begin
    if q is null or pg_catalog.btrim(q) = '' then
        return null;  -- no query (an empty tsquery literal would raise a notice)
    end if;
    if octet_length(q) > 1000 then
        raise exception 'search query of % bytes is too long', octet_length(q)
            using errcode = '22001', hint = 'Queries are at most 1000 bytes.';
    end if;
    if not prefix or last_word is null or pg_catalog.length(last_word) < 3 or quotes % 2 = 1 then
        return pg_catalog.websearch_to_tsquery(config, q);
    end if;
    head := pg_catalog.left(q, pg_catalog.length(q) - pg_catalog.length(last_word));
    if head ~ '-$' then
        return pg_catalog.websearch_to_tsquery(config, q);
    end if;
    if pg_catalog.btrim(head) <> '' then
        head_query := pg_catalog.websearch_to_tsquery(config, head);
    end if;
    last_query := pg_catalog.to_tsquery(config, last_word || ':*');
    if pg_catalog.numnode(last_query) = 0 then
        return pg_catalog.websearch_to_tsquery(config, q);
    end if;
    if head_query is null or pg_catalog.numnode(head_query) = 0 then
        return last_query;
    end if;
    if head ~* '(^|\s)or\s+$' then
        return head_query || last_query;
    end if;
    return head_query && last_query;
end
$$;

comment on function search.parse_query(regconfig, text, boolean) is
'The tsquery of a search box''s text: websearch_to_tsquery syntax, the last word as a prefix.';

revoke all on function search.parse_query(regconfig, text, boolean) from public;
grant execute on function search.parse_query(regconfig, text, boolean) to authenticated, service_role;

create or replace function search._log_query(
    brand_id uuid, table_name text, query text, hits integer, latency_ms real, typo_fallback boolean
)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    made bigint;
begin
    if octet_length(query) > 1000 or octet_length(table_name) > 200 then
        raise exception 'search query of % bytes is too long', octet_length(query)
            using errcode = '22001', hint = 'Queries are at most 1000 bytes.';
    end if;
    perform brand.require_permission(brand_id, 'search.read');
    -- GET /rpc/... runs read-only under PostgREST: such searches are not logged.
    if pg_catalog.current_setting('transaction_read_only') = 'on' or exists (
        select from search.settings as s where s.brand_id = _log_query.brand_id and not s.log_queries
    ) then
        return null;
    end if;
    -- The log line is this request's first write (a search): its commit need not wait for
    -- the WAL flush. A crash may lose the last few log lines, never anything else.
    if pg_catalog.pg_current_xact_id_if_assigned() is null then
        perform pg_catalog.set_config('synchronous_commit', 'off', true);
    end if;
    insert into search.queries (brand_id, table_name, query, hits, latency_ms, typo_fallback, user_id, created_at)
    values (
        brand_id, table_name, query, greatest(hits, 0), greatest(latency_ms, 0),
        coalesce(typo_fallback, false), brand.caller_id(), brandbase.now()
    )
    returning id into made;
    return made;
end
$$;

comment on function search._log_query(uuid, text, text, integer, real, boolean) is
'Logs one search of a brand the caller may search (unless the brand opted out); its id.';

revoke all on function search._log_query(uuid, text, text, integer, real, boolean) from public;
grant execute on function search._log_query(uuid, text, text, integer, real, boolean)
to authenticated, service_role;

create or replace function search.query(target regclass, q text, options jsonb default '{}')
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    started timestamptz := pg_catalog.clock_timestamp();
    opts jsonb := coalesce(options, '{}');
    cfg search.indexed;
    the_brand uuid;
    page_size integer;
    cap integer;
    tsq tsquery;
    qconfig regconfig;
    cur jsonb;
    ref timestamptz;
    mode text;
    keys text[];
    typo_on boolean;
    prefix_on boolean;
    typo_text text;
    typo_words text[];
    ranked jsonb;
    hits jsonb;
    total integer;
    query_id bigint;
    suggestion text;
    headline_sql text;
    stmt text;
begin
    if octet_length(q) > 1000 then
        raise exception 'search query of % bytes is too long', octet_length(q)
            using errcode = '22001', hint = 'Queries are at most 1000 bytes.';
    end if;
    if pg_catalog.pg_column_size(opts) > 8192 then
        raise exception 'search options of % bytes are too large', pg_catalog.pg_column_size(opts)
            using errcode = '22001', hint = 'Options are at most 8 kB.';
    end if;
    if pg_catalog.jsonb_typeof(opts) <> 'object' then
        raise exception 'search options must be a JSON object'
            using errcode = '22023', hint = 'e.g. {"brand_id": "...", "limit": 20}.';
    end if;
    select * into cfg from search.indexed as x where x.target = query.target::text;
    if not found then
        raise exception 'table % is not search-enabled', target
            using errcode = 'PT404', hint = 'An operator enables it: select search.enable(''schema.table'', ...).';
    end if;
    begin
        the_brand := (opts ->> 'brand_id')::uuid;
    exception when invalid_text_representation then
        raise exception 'options.brand_id is not a uuid'
            using errcode = '22023', hint = 'Pass the brand to search in as options.brand_id.';
    end;
    if the_brand is null then
        raise exception 'options.brand_id is required'
            using errcode = '22023', hint = 'Pass the brand to search in as options.brand_id.';
    end if;
    perform brand.require_permission(the_brand, 'search.read');

    begin
        page_size := least(greatest(coalesce((opts ->> 'limit')::integer, 20), 1), 100);
        cap := least(greatest(coalesce((opts ->> 'candidates')::integer, 1000), page_size), 5000);
    exception when others then
        raise exception 'options.limit and options.candidates must be integers'
            using errcode = '22023', hint = 'limit: 1 to 100 (20); candidates: limit to 5000 (1000).';
    end;
    begin
        typo_on := coalesce((opts ->> 'typo')::boolean, true);
        prefix_on := coalesce((opts ->> 'prefix')::boolean, true);
    exception when others then
        raise exception 'options.typo and options.prefix must be booleans'
            using errcode = '22023', hint = 'e.g. {"typo": false, "prefix": false}.';
    end;
    begin
        qconfig := coalesce((opts ->> 'config')::regconfig, cfg.config::regconfig);
    exception when others then
        raise exception 'unknown text search configuration %', pg_catalog.left(opts ->> 'config', 60)
            using errcode = '22023', hint = 'e.g. english, german, simple (select cfgname from pg_ts_config).';
    end;
    if cfg.unaccent then
        -- search.unaccent_<config>, made by search.enable() (PostgreSQL 15 has no to_regconfig)
        qconfig := coalesce((
            select u.oid::regconfig from pg_catalog.pg_ts_config as u
            where u.cfgnamespace = 'search'::regnamespace and u.cfgname = 'unaccent_' || (
                select c.cfgname from pg_catalog.pg_ts_config as c where c.oid = qconfig
            )
        ), qconfig);
    end if;
    tsq := search.parse_query(qconfig, q, prefix_on);
    if coalesce(pg_catalog.numnode(tsq), 0) > 64 then
        raise exception 'search query has too many terms'
            using errcode = '22023', hint = 'Use at most 32 words.';
    end if;

    cur := search.cursor_of(opts);
    mode := coalesce(cur ->> 'm', 'text');
    ref := coalesce((cur ->> 't')::timestamptz, brandbase.now());
    keys := coalesce(nullif(array_remove(cfg.key_columns, cfg.brand_column), '{}'), cfg.key_columns);

    typo_text := pg_catalog.btrim(pg_catalog.regexp_replace(coalesce(q, ''), '[^[:alnum:][:space:]]+', ' ', 'g'));
    typo_words := array(
        select w from pg_catalog.regexp_split_to_table(pg_catalog.lower(typo_text), '\s+') as w
        where pg_catalog.length(w) >= 3 limit 5
    );

    -- Candidates and ranking (search._rank): as the pack's owner when the table's read
    -- policy is known (the GIN index usable; the caller's read permission in the brand
    -- checked there), which also corrects typos against the table's lexicon when nothing
    -- matches ('fixed'); else as the caller under RLS, whose typo fallback scans the
    -- trigram columns ('typo').
    if mode in ('text', 'fixed') and coalesce(pg_catalog.numnode(tsq), 0) > 0 then
        ranked := search._rank_as_owner(
            target, the_brand, tsq, opts, qconfig, case when typo_on then typo_words else '{}'::text[] end
        );
        if ranked is null or ranked ? 'lexicon' then
            ranked := coalesce(ranked, search._rank(target, the_brand, tsq, opts));
            if (ranked ->> 'total')::integer = 0 and mode = 'text' and cur is null and typo_on then
                mode := 'typo';
            end if;
        elsif ranked ? 'fixed' then
            mode := 'fixed';
            tsq := pg_catalog.plainto_tsquery('simple', pg_catalog.array_to_string(
                array(select pg_catalog.jsonb_array_elements_text(ranked -> 'fixed')), ' '
            ));
        end if;
        total := (ranked ->> 'total')::integer;
    else
        total := 0;
    end if;
    if mode = 'typo' and typo_on and cardinality(cfg.trigram_columns) > 0 and pg_catalog.length(typo_text) >= 3 then
        ranked := search._rank(
            target, the_brand, null, opts, coalesce(nullif(typo_words, '{}'), array[pg_catalog.lower(typo_text)])
        );
        total := (ranked ->> 'total')::integer;
    elsif mode = 'typo' then
        mode := 'text';
    end if;

    -- The page: documents and highlights for the hits returned, and no others.
    if coalesce(pg_catalog.jsonb_array_length(ranked -> 'page'), 0) > 0 then
        headline_sql := (
            select pg_catalog.string_agg(pg_catalog.format(
                '%L, pg_catalog.ts_headline($3, t.%I::text, $4, %L)', c.key, c.key,
                'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "'
            ), ', ')
            from pg_catalog.jsonb_each_text(cfg.columns) as c
        );
        stmt := pg_catalog.format(
            'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''key'', h.hit -> ''key'', '
            '''score'', h.hit -> ''score'', ''highlights'', %s, '
            '''document'', pg_catalog.to_jsonb(t) - %L) order by h.n) '
            'from pg_catalog.jsonb_array_elements($1) with ordinality as h (hit, n) '
            'cross join lateral pg_catalog.jsonb_populate_record(null::%s, h.hit -> ''key'') as k '
            'inner join %s as t on t.%I = $2 and %s '
            'where h.n <= $5',
            case when mode = 'typo' then '''{}''::jsonb' else 'pg_catalog.jsonb_build_object(' || headline_sql || ')' end,
            cfg.vector_column, target, target, cfg.brand_column,
            (select pg_catalog.string_agg(pg_catalog.format('t.%I = k.%I', k, k), ' and ') from unnest(keys) as k)
        );
        execute stmt into hits using ranked -> 'page', the_brand, qconfig, tsq, page_size;
    end if;

    if mode in ('typo', 'fixed') and hits is not null and cfg.trigram_schema is not null then
        -- Did you mean: each query word replaced by the closest word of the best hit.
        execute pg_catalog.format(
            'select pg_catalog.string_agg(coalesce(b.w, w.w), '' '' order by w.n) '
            'from pg_catalog.regexp_split_to_table(pg_catalog.lower($1), ''\s+'') with ordinality as w (w, n) '
            'left join lateral (select d.w from pg_catalog.regexp_split_to_table(pg_catalog.lower($2), '
            '''[^[:alnum:]]+'') as d (w) where %I.similarity(w.w, d.w) > 0.3 '
            'order by %I.similarity(w.w, d.w) desc, d.w limit 1) as b on true',
            cfg.trigram_schema, cfg.trigram_schema
        ) into suggestion
        using typo_text, (
            select pg_catalog.string_agg(hits -> 0 -> 'document' ->> c, ' ')
            from unnest(coalesce(nullif(cfg.trigram_columns, '{}'), array(select pg_catalog.jsonb_object_keys(cfg.columns)))) as c
        );
        if suggestion = pg_catalog.lower(typo_text) then
            suggestion := null;
        end if;
    end if;

    if cur is null and (coalesce(pg_catalog.numnode(tsq), 0) > 0 or mode = 'typo') then
        query_id := search._log_query(
            the_brand, target::text, pg_catalog.left(pg_catalog.lower(pg_catalog.btrim(q)), 1000), total,
            (extract(epoch from pg_catalog.clock_timestamp() - started) * 1000)::real, mode in ('typo', 'fixed')
        );
    end if;

    return pg_catalog.jsonb_build_object(
        'query_id', query_id,
        'hits', coalesce(hits, '[]'),
        'total', coalesce(total, 0),
        'total_is_estimate', coalesce(total, 0) >= cap,
        'facets', coalesce(ranked -> 'facets', '{}'),
        'typo_fallback', mode in ('typo', 'fixed'),
        'did_you_mean', suggestion,
        'next_cursor', case when pg_catalog.jsonb_array_length(ranked -> 'page') > page_size then
            pg_catalog.jsonb_build_object(
                's', ranked -> 'page' -> (page_size - 1) -> 'score',
                'k', ranked -> 'page' -> (page_size - 1) -> 'key',
                't', ref, 'm', mode
            ) end
    );
end
$$;

comment on function search.query(regclass, text, jsonb) is
'Searches a search-enabled table in one brand; the documents returned are read as the caller '
'(privileges and RLS apply), the candidates by search._rank_as_owner when the read policy is known. '
'q: websearch_to_tsquery syntax, the last word a prefix. options: brand_id (required), limit '
'(1-100, 20), cursor (next_cursor of the previous page), filters {column: value | [values]}, '
'facets [columns], candidates (matches ranked, 1000), typo (true), prefix (true), config. '
'Returns {query_id, hits [{key, score, highlights, document}], total, total_is_estimate, '
'facets, typo_fallback, did_you_mean, next_cursor}.';

revoke all on function search.query(regclass, text, jsonb) from public;
grant execute on function search.query(regclass, text, jsonb) to authenticated, service_role;

create or replace function api.search(table_name text, q text, options jsonb default '{}')
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    target regclass;
begin
    if octet_length(table_name) > 200 then
        raise exception 'table name of % bytes is too long', octet_length(table_name)
            using errcode = '22001', hint = 'Name it schema-qualified, e.g. public.posts.';
    end if;
    begin
        target := pg_catalog.to_regclass(table_name);
    exception when others then
        target := null;  -- not a name at all (PostgreSQL 15 raises on bad syntax)
    end;
    if target is null then
        raise exception 'table % does not exist', table_name
            using errcode = '42P01', hint = 'Name a search-enabled table, schema-qualified, e.g. public.posts.';
    end if;
    return search.query(target, q, options);
end
$$;

comment on function api.search(text, text, jsonb) is
'Full-text search of a search-enabled table in one brand (see search.query): '
'POST /rpc/search {"table_name": "public.posts", "q": "...", "options": {"brand_id": "..."}}.';

revoke all on function api.search(text, text, jsonb) from public;
grant execute on function api.search(text, text, jsonb) to authenticated, service_role;
