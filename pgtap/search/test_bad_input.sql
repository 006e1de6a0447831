-- search: bad input gets a sensible answer or a clear error with a stable SQLSTATE and a
-- hint, never a crash: empty and stop-word queries, unbalanced quotes, tsquery syntax,
-- injection attempts, oversized queries, bad options, unknown and disabled tables.
begin;
select plan(31);
select tests.seed_two_brands();

create table public.docs (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    body text,
    primary key (brand_id, id)
);
create table public.plain (brand_id uuid not null, id integer not null, primary key (brand_id, id));
grant select on public.docs, public.plain to authenticated;
select brand.isolate('public.docs', 'content.read');
insert into public.docs values
(tests.brand('acme'), 1, 'Postgres search', 'the quick brown fox'),
(tests.brand('acme'), 2, 'Other', 'nothing to see');
select search.enable('public.docs', '{"title": "A", "body": "B"}', 'english', '{"trigram": ["title"]}');

select throws_ok($$select search.enable('public.docs', '{"title": "Z"}')$$, '22023', null, 'weight not A-D');
select throws_ok($$select search.enable('public.docs', '{"nope": "A"}')$$, '42703', null, 'unknown column');
select throws_ok($$select search.enable('public.docs', '{}')$$, '22023', null, 'no columns');

create function pg_temp.q(q text, extra jsonb default '{}') returns jsonb language sql as $$
    select api.search('public.docs', q, jsonb_build_object('brand_id', tests.brand('acme')) || extra)
$$;
grant execute on function pg_temp.q(text, jsonb) to authenticated;
select tests.authenticate_as(tests.uid('viewer@acme'));

select is(pg_temp.q('') ->> 'total', '0', 'empty query: no hits');
select is(pg_temp.q('   ') -> 'hits', '[]', 'blank query: no hits');
select is(pg_temp.q('the and of') ->> 'total', '0', 'stop words only: no hits');
select is(pg_temp.q('"postgres search') ->> 'total', '1', 'unbalanced quote');
select is(
    pg_temp.q('postgres & | ! :* ( ) <-> \\ ''') ->> 'total', '1', 'tsquery syntax characters are words'
);
select lives_ok($$select pg_temp.q($q$'; drop table public.docs; --$q$)$$, 'injection in the query');
select lives_ok($$select pg_temp.q('x'') or 1=1 --')$$, 'injection with a quote');
select has_table('public', 'docs', 'the table is still there');
select is(pg_temp.q(null) ->> 'total', '0', 'null query: no hits');

select
    is(
        (select code from tests.error_of($$select pg_temp.q(repeat('postgres ', 1200))$$)),
        '22001',
        '10 kB query'
    );
select
    isnt(
        (select hint from tests.error_of($$select pg_temp.q(repeat('postgres ', 1200))$$)),
        null,
        'with a hint'
    );
select is((select code from tests.error_of($$select pg_temp.q(repeat('a', 1001))$$)), '22001', '1001 bytes');
select
    is(
        (select code from tests.error_of($$select pg_temp.q(repeat('word ', 100))$$)),
        '22023',
        'too many terms'
    );
select is((select code || ' ' || coalesce(hint, '') from tests.error_of(
    $$select api.search('public.nope', 'x', '{}')$$
)), '42P01 Name a search-enabled table, schema-qualified, e.g. public.posts.',
'unknown table: 42P01 with a hint');
select
    is(
        (select code from tests.error_of($$select api.search('not a; name', 'x', '{}')$$)),
        '42P01',
        'not a name'
    );
select is((select code || ' ' || coalesce(hint, '') from tests.error_of(
    $$select api.search('public.plain', 'x', '{}')$$
)),
'PT404 An operator enables it: select search.enable(''schema.table'', ...).', 'not enabled: PT404 with a hint'
);
select
    is(
        (select code from tests.error_of($$select api.search('public.docs', 'x', '{}')$$)),
        '22023',
        'brand_id required'
    );
select is(
    (select code from tests.error_of($$select api.search('public.docs', 'x', '{"brand_id": "nope"}')$$)),
    '22023', 'brand_id not a uuid'
);
select
    is(
        (select code from tests.error_of($$select pg_temp.q('x', '{"limit": "ten"}')$$)),
        '22023',
        'limit not a number'
    );
select is(jsonb_array_length(pg_temp.q('postgres', '{"limit": 1000000}') -> 'hits'), 1, 'limit clamped');
select
    is(
        (select code from tests.error_of($$select pg_temp.q('x', '{"cursor": {"s": "x"}}')$$)),
        '22023',
        'forged cursor'
    );
select
    is(
        (
            select code
            from tests.error_of($$select pg_temp.q('x', '{"cursor": {"s": 1, "k": {}, "t": "soon"}}')$$)
        ),
        '22023',
        'a cursor whose time is no time'
    );
select is(
    (select code from tests.error_of($$select pg_temp.q('x', '{"filters": {"body": "x"}}')$$)), '22023',
    'filter on an undeclared column'
);
select is(
    (select code from tests.error_of($$select api.search('public.docs', 'x', '[1]')$$)), '22023',
    'options not an object'
);
select is(
    (select code from tests.error_of($$select pg_temp.q('x', '{"typo": "maybe"}')$$)), '22023',
    'typo not a boolean'
);
-- the candidate step called directly: the same caps
select is(
    (select code from tests.error_of(format(
        'select search._rank_as_owner(%L, %L, %L, %L, %L, %L)', 'public.docs', tests.brand('acme'), 'x', '{}',
        'english', array['a', 'b', 'c', 'd', 'e', 'f']
    ))), '22023', 'owner step: at most 5 typo words'
);
select is(
    (select code from tests.error_of(format(
        'select search._rank(%L, %L, %L, %L)', 'public.docs', tests.brand('acme'), 'x',
        jsonb_build_object('pad', repeat('x', 10000))
    ))), '22023', 'candidate step: options over 8 kB'
);
select is(
    (select code from tests.error_of(format(
        'select search._rank(%L, %L, %L, %L)', 'public.docs', tests.brand('acme'),
        (select string_agg('w' || g, ' & ') from generate_series(1, 70) as g), '{}'
    ))), '22023', 'candidate step: at most 64 query nodes'
);

select * from finish();
rollback;
