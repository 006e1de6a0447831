-- search: querying. search.query() runs as its caller (the table's own privileges and RLS
-- apply) and never ranks every match: it takes at most `candidates` matches of the brand,
-- the newest first (a backward scan of the (brand, recency) btree for common terms, the
-- GIN index for rare ones: the planner picks from the vector's statistics), ranks those
-- with ts_rank_cd, field weights, recency and popularity, and highlights only the page it
-- returns. See docs/search.md for what the candidate limit gives up.

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
    filters text := '';
    facet_sql text := '''{}''::jsonb';
    facet_cols text[];
    keys text[];
    key_list text;
    key_json text;
    key_order text;
    extra_cols text := '';
    score_expr text;
    cursor_cond text := '';
    candidate_sql text;
    typo_text text;
    typo_words text[];
    previous_threshold text;
    lexicon_ready boolean;
    fixed_text text;
    changed boolean;
    base_extra text;
    fixed_words text[];
    typo_word text;
    lexeme text;
    best_word text;
    stmt text;
    ranked jsonb;
    hits jsonb;
    total integer;
    query_id bigint;
    suggestion text;
    headline_sql text;
    col text;
    i integer;
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
    tsq := search.parse_query(qconfig, q, coalesce((opts ->> 'prefix')::boolean, true));
    if coalesce(pg_catalog.numnode(tsq), 0) > 64 then
        raise exception 'search query has too many terms'
            using errcode = '22023', hint = 'Use at most 32 words.';
    end if;

    cur := opts -> 'cursor';
    if cur is not null and cur <> 'null' then
        if pg_catalog.jsonb_typeof(cur) <> 'object' or pg_catalog.jsonb_typeof(cur -> 's') <> 'number'
            or pg_catalog.jsonb_typeof(cur -> 'k') <> 'object' then
            raise exception 'options.cursor is not a cursor search.query() returned'
                using errcode = '22023', hint = 'Pass next_cursor of the previous page as it was.';
        end if;
        begin
            ref := (cur ->> 't')::timestamptz;
        exception when others then
            raise exception 'options.cursor is not a cursor search.query() returned'
                using errcode = '22023', hint = 'Pass next_cursor of the previous page as it was.';
        end;
        mode := coalesce(cur ->> 'm', 'text');
    else
        cur := null;
        mode := 'text';
    end if;
    ref := coalesce(ref, brandbase.now());

    -- Filters: equality (or any of an array) on the declared filter columns.
    if opts ? 'filters' then
        if pg_catalog.jsonb_typeof(opts -> 'filters') <> 'object' then
            raise exception 'options.filters must be an object of column: value'
                using errcode = '22023', hint = 'e.g. {"filters": {"category": ["news", "blog"]}}.';
        end if;
        for col in select pg_catalog.jsonb_object_keys(opts -> 'filters') loop
            if not col = any(cfg.filter_columns) then
                raise exception 'cannot filter on %', pg_catalog.left(col, 60)
                    using errcode = '22023',
                          hint = 'Filterable columns: ' || coalesce(pg_catalog.array_to_string(cfg.filter_columns, ', '), '');
            end if;
            filters := filters || pg_catalog.format(
                ' and t.%I = any(array(select pg_catalog.jsonb_array_elements_text(case pg_catalog.jsonb_typeof($5 -> %L)'
                ' when ''array'' then $5 -> %L else pg_catalog.jsonb_build_array($5 -> %L) end))::%s[])',
                col, col, col, col,
                (select pg_catalog.format_type(a.atttypid, a.atttypmod) from pg_catalog.pg_attribute as a
                 where a.attrelid = target and a.attname = col)
            );
        end loop;
    end if;
    if opts ? 'facets' then
        if pg_catalog.jsonb_typeof(opts -> 'facets') <> 'array' then
            raise exception 'options.facets must be an array of column names'
                using errcode = '22023', hint = 'e.g. {"facets": ["category"]}.';
        end if;
        facet_cols := array(select pg_catalog.jsonb_array_elements_text(opts -> 'facets'));
        if cardinality(facet_cols) > 5 then
            raise exception 'at most 5 facets'
                using errcode = '22023', hint = 'Ask for at most 5 facet columns.';
        end if;
        facet_sql := 'pg_catalog.jsonb_build_object()';
        i := 0;
        foreach col in array facet_cols loop
            i := i + 1;
            if not col = any(cfg.filter_columns) then
                raise exception 'cannot facet on %', pg_catalog.left(col, 60)
                    using errcode = '22023',
                          hint = 'Facet columns: ' || coalesce(pg_catalog.array_to_string(cfg.filter_columns, ', '), '');
            end if;
            extra_cols := extra_cols || pg_catalog.format(', t.%I as %I', col, 'f_' || i);
            facet_sql := facet_sql || pg_catalog.format(
                ' || pg_catalog.jsonb_build_object(%L, (select coalesce(pg_catalog.jsonb_object_agg(coalesce(x.v, %L), x.n), %L)'
                ' from (select s.%I::text as v, count(*) as n from s group by 1 order by 2 desc, 1 limit 20) as x))',
                col, '(null)', '{}', 'f_' || i
            );
        end loop;
    end if;

    keys := coalesce(nullif(array_remove(cfg.key_columns, cfg.brand_column), '{}'), cfg.key_columns);
    select pg_catalog.string_agg(pg_catalog.format('t.%I as %I', k, 'k_' || o), ', ' order by o),
           pg_catalog.string_agg(pg_catalog.format('%L, s.%I', k, 'k_' || o), ', ' order by o),
           pg_catalog.string_agg(pg_catalog.format('s.%I desc', 'k_' || o), ', ' order by o)
    into key_list, key_json, key_order
    from unnest(keys) with ordinality as u (k, o);
    if cur is not null then
        cursor_cond := pg_catalog.format(
            'where s.score < $6 or (s.score = $6 and (%s) < (select %s from pg_catalog.jsonb_populate_record(null::%s, $7) as c))',
            (select pg_catalog.string_agg(pg_catalog.format('s.%I', 'k_' || o), ', ' order by o)
             from unnest(keys) with ordinality as u (k, o)),
            (select pg_catalog.string_agg(pg_catalog.format('c.%I', k), ', ' order by o)
             from unnest(keys) with ordinality as u (k, o)),
            target
        );
    end if;

    typo_text := pg_catalog.btrim(pg_catalog.regexp_replace(coalesce(q, ''), '[^[:alnum:][:space:]]+', ' ', 'g'));
    typo_words := array(
        select w from pg_catalog.regexp_split_to_table(pg_catalog.lower(typo_text), '\s+') as w
        where pg_catalog.length(w) >= 3 limit 5
    );
    -- With a lexicon, typos are corrected word by word against the brand's own words and
    -- the corrected query is ranked like any other ('fixed'); without one, the trigram
    -- columns are scanned ('typo', below).
    lexicon_ready := cfg.lexicon_at is not null
        and coalesce((opts ->> 'typo')::boolean, true) and cardinality(typo_words) > 0;
    base_extra := extra_cols;
    <<ranking>>
    for attempt in 1..2 loop
        extra_cols := base_extra;
        if mode = 'fixed' and attempt = 1 or attempt = 2 then
            -- Each query word, stemmed, replaced by the brand's most frequent lexicon word
            -- one edit away (the word itself when the lexicon has it).
            -- One lookup per word, planned with its keys in hand (EXECUTE): the GIN index
            -- on the keys, not a filter over the brand's whole lexicon.
            fixed_words := '{}';
            changed := false;
            foreach typo_word in array typo_words loop
                lexeme := (
                    select x.lexeme from pg_catalog.unnest(pg_catalog.to_tsvector(qconfig, typo_word)) as x limit 1
                );
                continue when lexeme is null;  -- a stop word
                execute 'select l.word from search.lexicon as l where l.brand_id = $1 and l.table_name = $2 '
                    'and l.variants operator(pg_catalog.&&) $3 order by l.word = $4 desc, l.docs desc, l.word limit 1'
                into best_word using the_brand, target::text, search.typo_variants(the_brand, lexeme), lexeme;
                fixed_words := fixed_words || coalesce(best_word, lexeme);
                changed := changed or best_word <> lexeme;
            end loop;
            fixed_text := pg_catalog.array_to_string(fixed_words, ' ');
            exit ranking when not coalesce(changed, false);
            tsq := pg_catalog.plainto_tsquery('simple', fixed_text);
            mode := 'fixed';
        end if;
        if mode in ('text', 'fixed') and coalesce(pg_catalog.numnode(tsq), 0) > 0 then
            -- Score: ts_rank_cd with weights {D, C, B, A} normalised by length, times a recency
            -- boost (up to 1.5x, halving every 30 days before the reference time) and a
            -- popularity boost (log scale). The reference time travels in the cursor, so
            -- every page ranks alike.
            score_expr := 'pg_catalog.ts_rank_cd(''{0.1, 0.2, 0.4, 1.0}''::real[], c.v, $2, 1)::float8';
            if cfg.recency_column is not null then
                extra_cols := extra_cols || pg_catalog.format(', t.%I as r', cfg.recency_column);
                score_expr := score_expr || ' * (1 + 0.5 * pg_catalog.power(0.5::float8, greatest('
                    'extract(epoch from $4 - c.r)::float8, 0) / 2592000.0))';
            end if;
            if cfg.popularity_column is not null then
                extra_cols := extra_cols || pg_catalog.format(', t.%I as p', cfg.popularity_column);
                score_expr := score_expr || ' * (1 + 0.1 * pg_catalog.ln(1 + greatest(coalesce(c.p, 0), 0)))';
            end if;
            candidate_sql := pg_catalog.format(
                'select %s, t.%I as v%s from %s as t where t.%I = $1 and t.%I operator(pg_catalog.@@) $2%s '
                'order by %s limit $3',
                key_list, cfg.vector_column, extra_cols, target, cfg.brand_column, cfg.vector_column, filters,
                case when cfg.recency_column is not null
                     then pg_catalog.format('t.%I desc nulls last', cfg.recency_column)
                     else (select pg_catalog.string_agg(pg_catalog.format('t.%I desc', k), ', ' order by o)
                           from unnest(keys) with ordinality as u (k, o)) end
            );
            stmt := pg_catalog.format(
                'with c as materialized (%s), s as (select c.*, %s as score from c), '
                'page as (select * from s %s order by s.score desc, %s limit $8 + 1) '
                'select pg_catalog.jsonb_build_object(''total'', (select count(*) from s), ''facets'', %s, '
                '''page'', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('
                '''key'', pg_catalog.jsonb_build_object(%s), ''score'', s.score) order by s.score desc, %s) '
                'from page as s), ''[]''))',
                candidate_sql, score_expr, cursor_cond, key_order, facet_sql, key_json, key_order
            );
            execute stmt into ranked
            using the_brand, tsq, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size;
            total := (ranked ->> 'total')::integer;
        else
            total := 0;
        end if;
        exit ranking when total > 0 or mode = 'fixed' or not lexicon_ready or cur is not null
            or coalesce(pg_catalog.numnode(tsq), 0) = 0;
    end loop;

    -- Typo fallback without a lexicon: the trigram columns' rows closest to the query.
    if (mode = 'typo' or (total = 0 and cur is null and not lexicon_ready and mode = 'text'
            and coalesce(pg_catalog.numnode(tsq), 0) > 0))
        and coalesce((opts ->> 'typo')::boolean, true)
        and cardinality(cfg.trigram_columns) > 0 and pg_catalog.length(typo_text) >= 3 then
        mode := 'typo';
        -- Word by word (at most 5 words of 3+ characters): each word's best trigram match in
        -- any trigram column, summed; a row qualifies when one word is close to one of its words.
        if cardinality(typo_words) = 0 then
            typo_words := array[pg_catalog.lower(typo_text)];
        end if;
        score_expr := (
            select pg_catalog.string_agg(pg_catalog.format('greatest(%s)', (
                select pg_catalog.string_agg(pg_catalog.format(
                    '%I.word_similarity($2[%s], t.%I)::float8', cfg.trigram_schema, n, c), ', ')
                from unnest(cfg.trigram_columns) as c
            )), ' + ')
            from generate_series(1, cardinality(typo_words)) as n
        );
        candidate_sql := pg_catalog.format(
            'select %s, %s as score%s from %s as t where t.%I = $1 and (%s)%s limit $3',
            key_list, score_expr, extra_cols, target, cfg.brand_column,
            (select pg_catalog.string_agg(pg_catalog.format(
                '$2[%s] operator(%I.<%%) t.%I', n, cfg.trigram_schema, c), ' or ')
             from unnest(cfg.trigram_columns) as c, generate_series(1, cardinality(typo_words)) as n),
            filters
        );
        previous_threshold := pg_catalog.current_setting('pg_trgm.word_similarity_threshold', true);
        perform pg_catalog.set_config('pg_trgm.word_similarity_threshold', '0.4', true);
        stmt := pg_catalog.format(
            'with s as materialized (%s), '
            'page as (select * from s %s order by s.score desc, %s limit $8 + 1) '
            'select pg_catalog.jsonb_build_object(''total'', (select count(*) from s), ''facets'', %s, '
            '''page'', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('
            '''key'', pg_catalog.jsonb_build_object(%s), ''score'', s.score) order by s.score desc, %s) '
            'from page as s), ''[]''))',
            candidate_sql, cursor_cond, key_order, facet_sql, key_json, key_order
        );
        execute stmt into ranked
        using the_brand, typo_words, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size;
        perform pg_catalog.set_config('pg_trgm.word_similarity_threshold', coalesce(previous_threshold, '0.6'), true);
        total := (ranked ->> 'total')::integer;
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
'Searches a search-enabled table in one brand, as the caller (its privileges and RLS apply). '
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
