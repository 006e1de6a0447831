-- search.query_many: one ranked list over several tables, paged with a cursor per table.
begin;
select plan(6);
select tests.seed_two_brands();

create table public.posts (
    brand_id uuid not null references brand.brands (id), id integer not null, title text not null,
    primary key (brand_id, id)
);
create table public.faqs (
    brand_id uuid not null references brand.brands (id), id integer not null, question text not null,
    primary key (brand_id, id)
);
grant select on public.posts, public.faqs to authenticated;
select brand.isolate('public.posts', 'content.read');
select brand.isolate('public.faqs', 'content.read');
insert into public.posts select
    tests.brand('acme') as brand_id,
    g as id,
    'shipping post ' || g as title
from generate_series(1, 7) as g;
insert into public.faqs select
    tests.brand('acme') as brand_id,
    g as id,
    'how long does shipping take, case ' || g as question
from generate_series(1, 5) as g;
insert into public.faqs values (tests.brand('bolt'), 1, 'shipping at bolt');
select search.enable('public.posts', '{"title": "A"}');
select search.enable('public.faqs', '{"question": "A"}');

select tests.authenticate_as(tests.uid('viewer@acme'));
select '# ' || left(set_config('t.m', api.search_many(
    array['public.posts', 'public.faqs'], 'shipping',
    jsonb_build_object('brand_id', tests.brand('acme'), 'limit', 5)
)::text, true), 0) || 'searched';
select is((current_setting('t.m')::jsonb ->> 'total')::int, 12, 'matches of both tables, own brand only');
select is(jsonb_array_length(current_setting('t.m')::jsonb -> 'hits'), 5, 'one page');
select ok((select bool_and(s >= coalesce(n, 0)) from (
    select
        (h ->> 'score')::float8 as s,
        lead((h ->> 'score')::float8) over (order by o) as n
    from jsonb_array_elements(current_setting('t.m')::jsonb -> 'hits') with ordinality as x (h, o)  -- noqa: AL05, LT05
) as y),
'ranked by score');

do $$
declare
    res jsonb;
    cur jsonb := null;
    n int := 0;
    seen jsonb := '[]';
begin
    loop
        res := api.search_many(array['public.posts', 'public.faqs'], 'shipping',
            jsonb_build_object('brand_id', tests.brand('acme'), 'limit', 5, 'cursor', cur));
        seen := seen || coalesce((select jsonb_agg((h ->> 'table') || ':' || (h -> 'key' ->> 'id'))
                                  from jsonb_array_elements(res -> 'hits') as h), '[]');
        n := n + 1;
        cur := res -> 'next_cursor';
        exit when cur is null or cur = 'null' or n > 10;
    end loop;
    perform set_config('t.seen', seen::text, true);
    perform set_config('t.pages', n::text, true);
end
$$;
select is(current_setting('t.pages')::int, 3, 'three pages of 5 for 12 hits');
select is(
    (select count(distinct v)::int from jsonb_array_elements_text(current_setting('t.seen')::jsonb) as v), 12,
    'every hit of both tables once'
);
select throws_ok(
    $$select api.search_many(array['public.posts', 'public.nope'], 'x', '{}')$$, '42P01', null,
    'an unknown table among them: 42P01'
);

select * from finish();
rollback;
