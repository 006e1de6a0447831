-- The candidate step's fast paths (issue 20): the GIN index without fastupdate (every
-- search read the pending list whole), the lexicon's estimate of prefixes and of ANDs (the
-- walk sized from it, every match through GIN when the window holds none), a term the
-- lexicon says is rare looked up in GIN alone with the brand checked per row (never
-- another brand's rows, nor counts), and typo corrections one edit away before two.
begin;
select plan(12);
select tests.seed_two_brands();

create table public.cards (
    brand_id uuid not null references brand.brands (id),
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select on public.cards to authenticated;
select brand.isolate('public.cards', 'content.read');
insert into public.cards (brand_id, id, title)
select
    b.id as brand_id,
    g as id,
    'harbour lantern ' || g as title
from brand.brands as b, generate_series(1, 4) as g;
-- acme: more rows than the walk's first window (3,000, newest = highest id first); the
-- oldest hold the only co-occurrence of two common words and a rare word
insert into public.cards (brand_id, id, title)
select
    tests.brand('acme') as brand_id,
    g as id,
    case
        when g = 101 then 'harbour alpha beta'
        when g = 102 then 'harbour quokka'
        when g <= 1750 then 'harbour alpha ' || g
        else 'harbour beta ' || g
    end as title
from generate_series(101, 3400) as g;
-- the typo test: a frequent word two edits from the typo, a rarer one one edit from it
insert into public.cards (brand_id, id, title)
select
    tests.brand('acme') as brand_id,
    g as id,
    case when g < 4010 then 'pabi ferry' else 'pibo ferry' end as title
from generate_series(4000, 4011) as g;
insert into public.cards (brand_id, id, title) values (tests.brand('bolt'), 102, 'harbour quokka');
select search.enable('public.cards', '{"title": "A"}', 'english', '{}');

select ok(
    (
        select 'fastupdate=off' = any(c.reloptions) from pg_class as c
        where c.oid = 'public.cards_search_gin'::regclass
    ),
    'the GIN index is made without fastupdate'
);
-- an operator's setting is kept; an index made before (no setting: fastupdate on) is switched
do $$ begin
    execute 'alter index public.cards_search_gin set (fastupdate = on, gin_pending_list_limit = 64)';
end $$;
select search.enable('public.cards', '{"title": "A"}', 'english', '{}');
select is(
    (
        select c.reloptions::text from pg_class as c
        where c.oid = 'public.cards_search_gin'::regclass
    ),
    '{fastupdate=on,gin_pending_list_limit=64}',
    'an operator''s own fastupdate setting is kept by search.enable'
);

do $$ begin
    execute 'alter index public.cards_search_gin reset (fastupdate, gin_pending_list_limit)';
end $$;
select search.enable('public.cards', '{"title": "A"}', 'english', '{}');
select ok(
    (
        select 'fastupdate=off' = any(c.reloptions) from pg_class as c
        where c.oid = 'public.cards_search_gin'::regclass
    ),
    'an index without a fastupdate setting (an earlier version''s) is switched by search.enable'
);

select ok(search.one_edit('pbio', 'pibo'), 'one edit: two neighbours swapped');
select ok(not search.one_edit('pbio', 'pabi'), 'two edits are not one');
select ok(search.one_edit('lantern', 'lanterns'), 'one edit: a letter added');
select
    ok(
        search.one_edit('lantern', 'lanturn') and search.one_edit('ferry', 'ferry'),
        'one edit: a letter changed; the same word'
    );

-- after the lexicon's refresh: a word it does not know, in an old row of each brand
insert into public.cards (brand_id, id, title) values
(tests.brand('acme'), 50, 'harbour wombat'),
(tests.brand('bolt'), 50, 'harbour wombat');

select tests.authenticate_as(tests.uid('viewer@acme'));
select is(
    (
        api.search('public.cards', 'wombat', jsonb_build_object('brand_id', tests.brand('acme'))) ->> 'total'
    )::int,
    1, 'a word the lexicon lacks, in an old row: found in GIN alone, the other brand''s row not counted'
);
select is(
    (
        select pg_catalog.string_agg(h -> 'key' ->> 'id', ',')
        from pg_catalog.jsonb_array_elements(
            api.search('public.cards', 'quok', jsonb_build_object('brand_id', tests.brand('acme'))) -> 'hits'
        ) as h
    ),
    '102', 'a rare prefix (the lexicon''s estimate): the old row of the brand, and only it'
);
select is(
    (
        select pg_catalog.string_agg(h -> 'key' ->> 'id', ',')
        from pg_catalog.jsonb_array_elements(
            api.search('public.cards', 'alpha beta', jsonb_build_object('brand_id', tests.brand('acme')))
            -> 'hits'
        ) as h
    ),
    '101', 'two common words that meet only in an old row: none in the window, found through GIN'
);
select is(
    (
        api.search('public.cards', 'pbio', jsonb_build_object('brand_id', tests.brand('acme')))
        ->> 'typo_fallback'
    )::boolean,
    true, 'a typo: corrected'
);
select is(
    (
        select pg_catalog.string_agg(distinct h -> 'document' ->> 'title', ',')
        from pg_catalog.jsonb_array_elements(
            api.search('public.cards', 'pbio', jsonb_build_object('brand_id', tests.brand('acme'))) -> 'hits'
        ) as h
    ),
    'pibo ferry', 'the word one edit away, not the more frequent one two edits away'
);
select tests.clear_authentication();

select * from finish();
rollback;
