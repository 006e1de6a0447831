-- The owner's candidate step (search._rank_as_owner, search._correct): used only when the
-- table's read policy is known (brand.isolate's, or the operator's read_permission), with
-- the caller's permission checked in the brand; the page is re-read as the caller, so a
-- row RLS hides is never returned; typo corrections only offer words the brand holds;
-- search.words is the owner's alone.
begin;
select plan(19);
select tests.seed_two_brands();

create table public.cards (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    secret boolean not null default false,
    primary key (brand_id, id)
);
grant select on public.cards to authenticated;
select brand.isolate('public.cards', 'content.read');
insert into public.cards (brand_id, id, title, secret)
select
    b.id as brand_id,
    g as id,
    'harbour lantern ' || g as title,
    g = 3 as secret
from brand.brands as b, generate_series(1, 4) as g;
-- words only bolt's documents hold
insert into public.cards (brand_id, id, title)
select
    tests.brand('bolt') as brand_id,
    10 + g as id,
    'zeppelin hangar' as title
from generate_series(1, 3) as g;
select search.enable('public.cards', '{"title": "A"}', 'english', '{"trigram": ["title"]}');

select is(search._read_permission('public.cards'), 'content.read', 'brand.isolate''s policy is recognised');

-- a restrictive policy narrows RLS: the policy shape is no longer brand.isolate's alone
create policy "secret cards stay hidden" on public.cards  -- noqa: RF05
as restrictive for select to authenticated
using (not secret);
select is(search._read_permission('public.cards'), null, 'a restrictive policy: read permission unknown');

select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    search._rank_as_owner('public.cards', tests.brand('acme'), 'lantern'::tsquery, '{}', 'english', '{}'),
    null, 'unknown policy: no owner step'
);
select is(
    (
        api.search('public.cards', 'lantern', jsonb_build_object('brand_id', tests.brand('acme'))) ->> 'total'
    )::int,
    3, 'ranked as the caller under RLS: the hidden row is not counted'
);
select tests.clear_authentication();

-- the operator states the read permission: the owner step runs, RLS still filters the page
select search.enable(
    'public.cards', '{"title": "A"}', 'english',
    '{"trigram": ["title"], "read_permission": "content.read"}'
);
select is(search._read_permission('public.cards'), 'content.read', 'the stated read permission is used');
select tests.authenticate_as(tests.uid('viewer@acme'));
select ok(
    search._rank_as_owner('public.cards', tests.brand('acme'), 'lantern'::tsquery, '{}', 'english', '{}')
    is not null, 'known policy: the owner step ranks'
);
select is(
    (
        select array_agg((h -> 'key' ->> 'id')::int order by (h -> 'key' ->> 'id')::int)
        from jsonb_array_elements(api.search(
            'public.cards', 'lantern',
            jsonb_build_object('brand_id', tests.brand('acme'))
        ) -> 'hits') as h
    ),
    array[1, 2, 4], 'the page is re-read as the caller: the row RLS hides is not returned'
);
select throws_ok(
    format(
        'select search._rank_as_owner(%L, %L, %L, %L, %L, %L)',
        'public.cards',
        tests.brand('bolt'),
        'lantern',
        '{}', 'english', '{lantrn}'
    ),
    '42501', null, 'the owner step refuses another brand'
);
select throws_ok(
    format(
        'select search._corrected(%L, %L, %L, %L)', 'public.cards', tests.brand('bolt'), 'english', '{lantrn}'
    ),
    '42501', null, 'the typo step is the owner''s alone'
);
select throws_ok('select * from search.words', '42501', null, 'search.words is not for the API roles');

-- typos: only words the brand's own documents hold are offered
select ok(
    (
        select (r ->> 'typo_fallback')::boolean and jsonb_array_length(r -> 'hits') = 3
        from
            (
                select
                    api.search(
                        'public.cards', 'lantrn', jsonb_build_object('brand_id', tests.brand('acme'))
                    ) as r
            ) as x
    ),
    'a typo is corrected to a word of the brand (the hidden row still not returned)'
);
select ok(
    (
        select
            r::text not like '%zeppelin%'
            and (r ->> 'total')::int = 0
            and not (r ->> 'typo_fallback')::boolean
        from
            (
                select
                    api.search(
                        'public.cards', 'zeppelin', jsonb_build_object('brand_id', tests.brand('acme'))
                    ) as r
            ) as x
    ),
    'a word only another brand holds finds nothing'
);
select ok(
    (
        select r::text not like '%zeppelin%' and (r ->> 'total')::int = 0
        from
            (
                select
                    api.search(
                        'public.cards', 'zepelin', jsonb_build_object('brand_id', tests.brand('acme'))
                    ) as r
            ) as x
    ),
    'a search for another brand''s word (misspelt) finds nothing and names nothing'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.uid('viewer@bolt'));
select is(
    (select (r ->> 'total')::int from (
        select
            api.search(
                'public.cards', 'zepelin',
                jsonb_build_object('brand_id', tests.brand('bolt'))
            ) as r
    ) as x),
    3, 'the brand that holds the word gets the correction'
);
select tests.clear_authentication();

-- a role without SELECT on the table: refused as the table itself would refuse it
revoke select on public.cards from authenticated;
select tests.authenticate_as(tests.uid('viewer@acme'));
select throws_ok(
    format(
        'select api.search(%L, %L, %L)',
        'public.cards',
        'lantern',
        jsonb_build_object('brand_id', tests.brand('acme'))
    ),
    '42501', null, 'no SELECT on the table: 42501'
);
select tests.clear_authentication();

-- a table whose owner step cannot decide the policy still works as the caller
drop policy "secret cards stay hidden" on public.cards;  -- noqa: RF05
grant select on public.cards to authenticated;
select search.enable('public.cards', '{"title": "A"}', 'english', '{"trigram": ["title"]}');
select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (
        api.search('public.cards', 'lantern', jsonb_build_object('brand_id', tests.brand('acme'))) ->> 'total'
    )::int,
    4, 'brand.isolate''s policy again: all four rows'
);
select tests.clear_authentication();

-- beyond the window of newest rows (3,000): a rare word in an old row is still found
insert into public.cards (brand_id, id, title)
select
    tests.brand('acme') as brand_id,
    100 + g as id,
    'harbour ferry ' || case when g = 1 then 'quokka' else 'gull' end as title
from generate_series(1, 3200) as g;
select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (select (r ->> 'total')::int from (
        select
            api.search(
                'public.cards', 'quokka',
                jsonb_build_object('brand_id', tests.brand('acme'))
            ) as r
    ) as x),
    1, 'a rare word outside the window of newest rows: found through the GIN index'
);
select is(
    (
        select (r ->> 'total')::int || ' ' || (r ->> 'total_is_estimate')
        from
            (
                select
                    api.search('public.cards', 'ferry', jsonb_build_object('brand_id', tests.brand('acme')))
                        as r
            ) as x
    ),
    '1000 true', 'a common word: the candidates, an estimate'
);
select is(
    (select (r ->> 'total')::int from (
        select
            api.search(
                'public.cards', 'harbour quokka',
                jsonb_build_object('brand_id', tests.brand('acme'), 'candidates', 20)
            ) as r
    ) as x),
    1, 'a rare conjunction of a common and a rare word: found'
);
select tests.clear_authentication();

select * from finish();
rollback;
