-- search.query: ranking, prefix, filters, facets, highlights, keyset pagination, typo
-- fallback with did-you-mean, and the query log.
begin;
select plan(25);
select tests.seed_two_brands();
select tests.freeze_time('2026-06-01 12:00:00+00');

create table public.articles (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    body text,
    category text,
    published_at timestamptz not null,
    views integer not null default 0,
    primary key (brand_id, id)
);
grant select on public.articles to authenticated;
select brand.isolate('public.articles', 'content.read');
insert into public.articles (brand_id, id, title, body, category, published_at)
select
    tests.brand('acme') as brand_id,
    g as id,
    'Note number ' || g as title,
    'an ordinary body about gardening and weather' as body,
    case when g % 2 = 0 then 'even' else 'odd' end as category,
    '2026-05-01'::timestamptz + g * interval '1 hour' as published_at
from generate_series(1, 30) as g;
insert into public.articles (brand_id, id, title, body, category, published_at) values
(
    tests.brand('acme'),
    101,
    'Postgres full-text search',
    'ranking with ts_rank_cd and weights',
    'db',
    '2026-05-20'
),
(
    tests.brand('acme'),
    102,
    'Cooking pasta',
    'postgres is mentioned only in the body here',
    'food',
    '2026-05-20'
),
(tests.brand('acme'), 103, 'Elephants', 'the elephant is the postgres mascot', 'db', '2026-05-21');

select lives_ok(
    $$select search.enable('public.articles', '{"title": "A", "body": "B"}', 'english',
    '{"trigram": ["title"], "filters": ["category"], "recency_column": "published_at", "popularity_column": "views"}')$$,
    'enable as the owner'
);
select lives_ok(
    $$select search.enable('public.articles', '{"title": "A", "body": "B"}', 'english',
    '{"trigram": ["title"], "filters": ["category"], "recency_column": "published_at", "popularity_column": "views"}')$$,
    'enable again is a no-op'
);
select has_column('public', 'articles', 'search_tsv', 'the stored vector column');
select ok(
    (
        select count(*) = 3 from pg_indexes
        where tablename = 'articles' and indexname like 'articles_search_%'
    ),
    'gin, recency and trigram indexes'
);

select tests.authenticate_as(tests.uid('viewer@acme'));
select '# ' || left(set_config('t.r', search.query(
    'public.articles', 'postgres',
    jsonb_build_object('brand_id', tests.brand('acme'))
)::text, true), 0) || 'searched';
select
    is(
        (select (j ->> 'total')::int from (select current_setting('t.r')::jsonb as j) as r),
        3,
        'three matches'
    );
select
    is(
        (select j -> 'hits' -> 0 -> 'key' ->> 'id' from (select current_setting('t.r')::jsonb as j) as r),
        '101',
        'the title match ranks first'
    );
select
    ok(
        (
            select j -> 'hits' -> 0 -> 'highlights' ->> 'title' like '%<mark>Postgres</mark>%'
            from (select current_setting('t.r')::jsonb as j) as r
        ),
        'highlighted'
    );
select
    ok(
        (select (j ->> 'query_id') is not null from (select current_setting('t.r')::jsonb as j) as r),
        'logged'
    );
select
    is(
        (
            select j -> 'hits' -> 0 -> 'document' ->> 'title'
            from (select current_setting('t.r')::jsonb as j) as r
        ),
        'Postgres full-text search',
        'document returned'
    );
select
    ok(
        (
            select not (j -> 'hits' -> 0 -> 'document') ? 'search_tsv'
            from (select current_setting('t.r')::jsonb as j) as r
        ),
        'without the vector'
    );

select is(
    (
        search.query('public.articles', 'postg', jsonb_build_object('brand_id', tests.brand('acme')))
        ->> 'total'
    )::int,
    3, 'prefix on the last word'
);
select is(
    (
        search.query(
            'public.articles', 'postgres -elephant', jsonb_build_object('brand_id', tests.brand('acme'))
        )
        ->> 'total'
    )::int,
    2, 'negation'
);
select is(
    (
        search.query(
            'public.articles', '"full text search"', jsonb_build_object('brand_id', tests.brand('acme'))
        )
        ->> 'total'
    )::int,
    1, 'phrase'
);
select is(
    (
        search.query(
            'public.articles', 'pasta or elephants', jsonb_build_object('brand_id', tests.brand('acme'))
        )
        ->> 'total'
    )::int,
    2, 'or'
);
select is((search.query('public.articles', 'postgres', jsonb_build_object(
    'brand_id', tests.brand('acme'),
    'filters', jsonb_build_object('category', 'db')
)) ->> 'total')::int, 2, 'filter');
select is(search.query('public.articles', 'postgres', jsonb_build_object(
    'brand_id', tests.brand('acme'),
    'facets', jsonb_build_array('category')
)) -> 'facets' -> 'category', '{"db": 2, "food": 1}', 'facets');

-- Keyset pagination: 30 notes in pages of 7 come back whole, in order, without repeats.
do $$
declare
    res jsonb;
    cur jsonb := null;
    n int := 0;
begin
    loop
        res := search.query('public.articles', 'gardening', jsonb_build_object('brand_id', tests.brand('acme'),
            'limit', 7, 'cursor', cur));
        n := n + 1;
        perform set_config('t.pages', (coalesce(nullif(current_setting('t.pages', true), '')::jsonb, '[]')
            || jsonb_build_array(jsonb_build_object('n', n, 'ids', res -> 'hits')))::text, true);
        cur := res -> 'next_cursor';
        exit when cur is null or cur = 'null' or n > 10;
    end loop;
end
$$;
select is((select jsonb_array_length(current_setting('t.pages')::jsonb)), 5, 'five pages');
select
    is((
        select count(distinct h -> 'key' ->> 'id')::int
        from jsonb_array_elements(current_setting('t.pages')::jsonb) as p,
            jsonb_array_elements(p -> 'ids') as h
    ), 30, 'every hit once');
select
    is(
        (select current_setting('t.pages')::jsonb -> 0 -> 'ids' -> 0 -> 'key' ->> 'id'),
        '30',
        'newest first among equals'
    );

-- Typo fallback.
select '# ' || left(set_config('t.t', search.query(
    'public.articles', 'elepants',
    jsonb_build_object('brand_id', tests.brand('acme'), 'prefix', false)
)::text, true), 0) || 'searched';
select
    is(
        (select (j ->> 'typo_fallback')::boolean from (select current_setting('t.t')::jsonb as j) as t),
        true,
        'typo fallback used'
    );
select
    is(
        (select j -> 'hits' -> 0 -> 'key' ->> 'id' from (select current_setting('t.t')::jsonb as j) as t),
        '103',
        'typo finds the elephants'
    );
select
    is(
        (select j ->> 'did_you_mean' from (select current_setting('t.t')::jsonb as j) as t),
        'elephants',
        'did you mean'
    );

select tests.clear_authentication();
-- Without a lexicon (never refreshed), the typo fallback scans the trigram columns.
update search.indexed set lexicon_at = null
where target = 'public.articles';
select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    search.query('public.articles', 'elefants', jsonb_build_object('brand_id', tests.brand('acme')))
    -> 'hits'
    -> 0
    -> 'key' ->> 'id', '103', 'trigram scan without a lexicon'
);
select tests.clear_authentication();
select
    is((
        select count(*)::int from search.queries
        where brand_id = tests.brand('acme')
    ), 10, 'first pages logged');
select
    lives_ok(
        $$select search.disable('public.articles'); select search.disable('public.articles')$$,
        'disable twice'
    );

select * from finish();
rollback;
