-- search: the candidate step. search._rank() finds at most `candidates` matches of one
-- brand (the newest first), ranks them and returns the page's keys and scores, the total
-- and the facets; it runs as whoever calls it. Under RLS the planner may not use the GIN
-- index (`@@` is not leakproof, so it cannot run below the policy's security barrier) and
-- every search would read the whole brand: search._rank_as_owner() (16_owner.sql) runs
-- the same step as the pack's owner, after checking in the brand what the table's read
-- policy checks, with the brand filter written out here. search.query() then re-reads the
-- page's rows as the caller, under RLS: RLS stays the final word on which documents are
-- returned. See docs/search.md.

create or replace function search.cursor_of(options jsonb)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
-- options.cursor when it is one search.query() returned (a score, a key and a time), null
-- when there is none; anything else is 22023.
declare
    cur jsonb := options -> 'cursor';
begin
    if cur is null or cur = 'null'::jsonb then
        return null;
    end if;
    if pg_catalog.jsonb_typeof(cur) <> 'object' or pg_catalog.jsonb_typeof(cur -> 's') <> 'number'
        or pg_catalog.jsonb_typeof(cur -> 'k') <> 'object' then
        raise exception 'options.cursor is not a cursor search.query() returned'
            using errcode = '22023', hint = 'Pass next_cursor of the previous page as it was.';
    end if;
    perform (cur ->> 't')::timestamptz;
    return cur;
exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'options.cursor is not a cursor search.query() returned'
        using errcode = '22023', hint = 'Pass next_cursor of the previous page as it was.';
end
$$;

comment on function search.cursor_of(jsonb) is
'options.cursor if it is a cursor search.query() returned, null if absent; 22023 otherwise.';

revoke all on function search.cursor_of(jsonb) from public;
grant execute on function search.cursor_of(jsonb) to authenticated, service_role;

create or replace function search._rank(
    target regclass, brand_id uuid, tsq tsquery, options jsonb, typo_words text[] default null
)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
-- tsq: the full-text query, ranked with ts_rank_cd, weights, recency and popularity. With
-- typo_words instead (and no tsq): the rows of the trigram columns closest to the words
-- (the typo fallback of a table without a usable lexicon). Returns
-- {total, facets, page: [{key, score}]} with one hit more than the page when there is more.
declare
    opts jsonb := coalesce(options, '{}'::jsonb);
    cfg search.indexed;
    page_size integer;
    cap integer;
    cur jsonb;
    ref timestamptz;
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
    recency_order text;
    scan_window integer;
    window_rows integer;
    density float8;
    rarest bigint;
    table_rows float8;
    brand_cond text;
    previous_threshold text;
    stmt text;
    ranked jsonb;
    col text;
    i integer;
begin
    if pg_catalog.jsonb_typeof(opts) <> 'object' or pg_catalog.pg_column_size(opts) > 8192 then
        raise exception 'search options must be a JSON object of at most 8 kB'
            using errcode = '22023', hint = 'e.g. {"brand_id": "...", "limit": 20}.';
    end if;
    if coalesce(pg_catalog.numnode(tsq), 0) > 64 or cardinality(typo_words) > 5
        or pg_catalog.octet_length(pg_catalog.array_to_string(typo_words, ' ')) > 1000 then
        raise exception 'search query has too many terms'
            using errcode = '22023', hint = 'Use at most 32 words.';
    end if;
    select * into cfg from search.indexed as x where x.target = _rank.target::text;
    if not found then
        raise exception 'table % is not search-enabled', target
            using errcode = 'PT404', hint = 'An operator enables it: select search.enable(''schema.table'', ...).';
    end if;
    if coalesce(pg_catalog.numnode(tsq), 0) = 0 and (typo_words is null or cardinality(cfg.trigram_columns) = 0) then
        return pg_catalog.jsonb_build_object('total', 0, 'facets', '{}'::jsonb, 'page', '[]'::jsonb);
    end if;
    begin
        page_size := least(greatest(coalesce((opts ->> 'limit')::integer, 20), 1), 100);
        cap := least(greatest(coalesce((opts ->> 'candidates')::integer, 1000), page_size), 5000);
    exception when others then
        raise exception 'options.limit and options.candidates must be integers'
            using errcode = '22023', hint = 'limit: 1 to 100 (20); candidates: limit to 5000 (1000).';
    end;
    cur := search.cursor_of(opts);
    ref := coalesce((cur ->> 't')::timestamptz, brandbase.now());

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

    if coalesce(pg_catalog.numnode(tsq), 0) > 0 then
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
        -- Two candidate steps, the brand filter written out (under search._rank_as_owner no
        -- policy adds it). First the matches among the brand's newest `window` rows (3 x
        -- candidates, at least 3,000), read in recency order: common terms fill the
        -- candidates long before, and the walk never reads more than the window. When
        -- that finds less than a page, the window was the whole brand or the query is
        -- rare: then a wider window when the first one found some matches, else every
        -- match (the GIN bitmap: the query alone, no order to follow), the newest
        -- `candidates` of them.
        recency_order := case when cfg.recency_column is not null
            then pg_catalog.format('t.%I desc nulls last', cfg.recency_column)
            else (select pg_catalog.string_agg(pg_catalog.format('t.%I desc', k), ', ' order by o)
                  from unnest(keys) with ordinality as u (k, o)) end;
        candidate_sql := pg_catalog.format(
            'select %s, t.%I as v%s from (select * from %s as t where t.%I = $1 order by %s limit $9) as t '
            'where t.%I operator(pg_catalog.@@) $2%s order by %s limit $3',
            key_list, cfg.vector_column, extra_cols, target, cfg.brand_column, recency_order,
            cfg.vector_column, filters, recency_order
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
        scan_window := greatest(3 * cap, 3000);
        -- The lexicon's estimate (only the owner reads it: search._rank_as_owner) of an AND
        -- of words, plain or prefixes (no `|`, no `!`): the share of the table's documents
        -- holding them all, taken as independent, and the document count of the rarest. A
        -- prefix counts the documents of the words it opens (the first 50 in order: more
        -- than 50 words is no rare prefix).
        if pg_catalog.strpos(tsq::text, '|') = 0 and pg_catalog.strpos(tsq::text, '!') = 0
            and cfg.lexicon_at is not null and pg_catalog.has_table_privilege('search.words', 'select') then
            select
                exp(sum(ln(greatest(coalesce(e.docs, 0), 0.5) / greatest(c.reltuples, 1)))),
                min(coalesce(e.docs, 0)), max(greatest(c.reltuples, 1))
            into density, rarest, table_rows
            from pg_catalog.regexp_matches(tsq::text, '''((?:[^'']|'''')+)''(:\*)?', 'g') as m
            cross join pg_catalog.pg_class as c
            cross join lateral (
                select case when m[2] is null then (
                    select w.docs from search.words as w
                    where w.table_name = target::text and w.word = pg_catalog.replace(m[1], '''''', '''')
                ) else (
                    select case when count(*) >= 50 then 2147483647 else sum(x.docs) end
                    from (select w.word, w.docs from search.words as w
                          where w.table_name = target::text and w.word >= pg_catalog.replace(m[1], '''''', '''')
                          order by w.word limit 50) as x
                    where pg_catalog.starts_with(x.word, pg_catalog.replace(m[1], '''''', ''''))
                ) end as docs
            ) as e
            where c.oid = target;
        end if;
        -- Known density: the walk when the widest window (4 windows: ~12,000 rows, a walk
        -- costs 1-3 us a row) should hold a page and a half, sized to hold that; also when
        -- it should hold at least one match and every term is common (in 5% of the table
        -- or more: GIN would intersect long posting lists, 20-40 ms for four such words):
        -- such a query is answered from the brand's newest rows, fewer hits than exist
        -- (docs/search.md, "What the candidate limit gives up"). Else every match (GIN),
        -- cheap when one term is rare.
        if density is not null then
            if density * 4 * scan_window >= (page_size + 1) * 1.5
                or density * 4 * scan_window >= 1 and rarest >= 0.05 * table_rows then
                execute stmt into ranked
                using brand_id, tsq, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size,
                    least(greatest((page_size + 1) * 1.5 / density, scan_window), 4 * scan_window)::integer;
                if (ranked ->> 'total')::integer > 0 then
                    return ranked;
                end if;
                -- None in the window (the words are not independent): every match, below.
            end if;
        else
            execute stmt into ranked
            using brand_id, tsq, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size, scan_window;
            if (ranked ->> 'total')::integer > page_size then
                return ranked;
            end if;
            execute pg_catalog.format(
                'select count(*) from (select from %s as t where t.%I = $1 limit $2) as w', target, cfg.brand_column
            ) into window_rows using brand_id, scan_window;
            if window_rows < scan_window then
                return ranked;  -- the window held the whole brand: every match is a candidate
            end if;
            -- Some matches but not a page: a wider window that should hold a page and a
            -- half, at most 4 windows.
            if (ranked ->> 'total')::integer > 0 then
                execute stmt into ranked
                using brand_id, tsq, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size,
                    least(scan_window * (page_size + 1) * 1.5 / (ranked ->> 'total')::integer, 4 * scan_window)::integer;
                return ranked;
            end if;
        end if;
        -- Every match (GIN). A query the table's lexicon says fewer than 300 documents of
        -- all brands match (a typo, a rare word, a sparse AND) is looked up alone, the
        -- brand checked on each row: the (brand, vector) index would read the whole brand's
        -- posting list (3 ms for 300,000 documents) to intersect it with almost nothing.
        brand_cond := case when rarest < 300 or density * table_rows < 300
            then '(t.%I = $1) is true' else 't.%I = $1' end;
        candidate_sql := pg_catalog.format(
            'select * from (select %s, t.%I as v%s from %s as t where ' || brand_cond || ' and t.%I operator(pg_catalog.@@) $2%s '
            'offset 0) as t order by %s limit $3',
            key_list, cfg.vector_column, extra_cols, target, cfg.brand_column, cfg.vector_column, filters,
            case when cfg.recency_column is not null then 't.r desc nulls last'
                 else (select pg_catalog.string_agg(pg_catalog.format('t.%I desc', 'k_' || o), ', ' order by o)
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
        using brand_id, tsq, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size;
        return ranked;
    end if;

    -- The trigram fallback: word by word (at most 5 words of 3+ characters), each word's
    -- best trigram match in any trigram column, summed; a row qualifies when one word is
    -- close to one of its words.
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
    using brand_id, typo_words, cap, ref, opts -> 'filters', (cur ->> 's')::float8, cur -> 'k', page_size;
    perform pg_catalog.set_config('pg_trgm.word_similarity_threshold', coalesce(previous_threshold, '0.6'), true);
    return ranked;
end
$$;

comment on function search._rank(regclass, uuid, tsquery, jsonb, text[]) is
'The candidate step of search.query, as its caller (privileges and RLS apply): at most '
'`candidates` matches of the brand, ranked; {total, facets, page: [{key, score}]}. With '
'typo_words and no tsquery: the trigram fallback.';

-- SECURITY INVOKER: whoever calls it reads only what the table lets them read.
revoke all on function search._rank(regclass, uuid, tsquery, jsonb, text[]) from public;
grant execute on function search._rank(regclass, uuid, tsquery, jsonb, text[]) to authenticated, service_role;
