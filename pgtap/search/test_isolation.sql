-- search, both ways, as PostgREST runs requests (set local role authenticated plus
-- request.jwt.claims): a member of one brand never sees another brand's hits, counts,
-- facets, typo suggestions, logged queries or clicks, and cannot search in it, log to it
-- or click on its queries; another brand's query id answers like a missing one.
begin;
select plan(31);
select tests.seed_two_brands();

create table public.notes (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    tag text not null,
    primary key (brand_id, id)
);
grant select on public.notes to authenticated;
select brand.isolate('public.notes', 'content.read');
insert into public.notes
select
    b.id,
    g,
    b.slug || ' launch plan ' || g as title,
    b.slug || '-tag' as tag
from brand.brands as b, generate_series(1, 5) as g;
select search.enable(
    'public.notes', '{"title": "A"}', 'english', '{"trigram": ["title"], "filters": ["tag"]}'
);

create function tests.search_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
    res jsonb;
    their_query bigint;
begin
    -- the other brand logs one query first
    perform tests.authenticate_as(tests.uid('viewer@' || theirs));
    their_query := (search.query('public.notes', 'launch', jsonb_build_object('brand_id', tests.brand(theirs))) ->> 'query_id')::bigint;
    perform tests.clear_authentication();

    perform tests.authenticate_as(tests.uid('editor@' || mine));
    res := api.search('public.notes', 'launch', jsonb_build_object('brand_id', tests.brand(mine), 'facets', '["tag"]'::jsonb));
    return next is((res ->> 'total')::int, 5, 'own hits only, counted' || msg);
    return next ok(res::text not like '%' || theirs || '%', 'nothing of the other brand in the answer' || msg);
    return next is(res -> 'facets' -> 'tag', jsonb_build_object(mine || '-tag', 5), 'facets count own rows only' || msg);
    res := api.search('public.notes', 'lanch plam', jsonb_build_object('brand_id', tests.brand(mine)));
    return next ok((res ->> 'typo_fallback')::boolean and res::text not like '%' || theirs || '%',
        'typo fallback and suggestion from own rows only' || msg);
    return next throws_ok(format('select api.search(''public.notes'', ''launch'', %L)',
        jsonb_build_object('brand_id', tests.brand(theirs))), '42501', null, 'searching the other brand refused' || msg);
    return next throws_ok(format('select search._log_query(%L, ''public.notes'', ''x'', 1, 1, false)', tests.brand(theirs)),
        '42501', null, 'logging to the other brand refused' || msg);
    return next throws_ok(format('select api.search_click(%s, ''{"id": 1}'')', their_query), 'PT404',
        format('search query %s not found', their_query), 'clicking the other brand''s query: not found' || msg);
    return next throws_ok('select api.search_click(9223372036854775000, ''{"id": 1}'')', 'PT404',
        'search query 9223372036854775000 not found', '... as a missing one' || msg);
    return next is((select count(*)::int from search.queries where brand_id = tests.brand(theirs)), 0,
        'other brand''s queries invisible' || msg);
    return next is((select count(*)::int from api.search_top_queries where brand_id = tests.brand(theirs)), 0,
        'other brand''s top queries invisible' || msg);
    return next ok((select count(*) > 0 from api.search_top_queries where brand_id = tests.brand(mine)),
        'own top queries visible' || msg);
    return next throws_ok(format('select api.set_search_settings(%L, false)', tests.brand(theirs)), '42501', null,
        'opting the other brand out refused' || msg);
    perform tests.clear_authentication();
    return next ok((select count(*) > 0 from search.queries where brand_id = tests.brand(theirs)),
        'the other brand''s log untouched' || msg);
end
$$;
select * from tests.search_checks('acme', 'bolt');
select * from tests.search_checks('bolt', 'acme');

-- Outsiders and anon get nothing.
select tests.authenticate_as(tests.uid('outsider@nowhere'));
select throws_ok(format(
    'select api.search(''public.notes'', ''launch'', %L)',
    jsonb_build_object('brand_id', tests.brand('acme'))
), '42501', null, 'an outsider cannot search');
select tests.clear_authentication();
select tests.authenticate_as_role('anon');
select throws_ok(format(
    'select api.search(''public.notes'', ''launch'', %L)',
    jsonb_build_object('brand_id', tests.brand('acme'))
), '42501', null, 'anon cannot search');
select tests.clear_authentication();

-- Opt-out: the brand's log is forgotten and nothing new is logged.
select tests.authenticate_as(tests.uid('editor@acme'));
select lives_ok(
    format('select api.set_search_settings(%L, false)', tests.brand('acme')), 'an editor opts out'
);
select is(
    api.search('public.notes', 'launch', jsonb_build_object('brand_id', tests.brand('acme'))) -> 'query_id',
    'null', 'no query id once opted out'
);
select tests.clear_authentication();
select
    is((
        select count(*)::int from search.queries
        where brand_id = tests.brand('acme')
    ), 0, 'acme''s log is empty');

select * from finish();
rollback;
