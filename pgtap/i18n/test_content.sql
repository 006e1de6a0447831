-- i18n: content translations of a brand table through its translated view, in the
-- request's locale, isolated by brand; the quality report.
begin;
select plan(7);
select tests.seed_two_brands();
select i18n.set_locale('de');
create table public.products (
    brand_id uuid not null references brand.brands (id), id integer not null, name text not null,
    price integer not null, primary key (brand_id, id)
);
select brand.isolate('public.products', 'content.read', 'content.write');
grant select on public.products to authenticated;
insert into public.products (brand_id, id, name, price)
select
    b.id as brand_id,
    1 as id,
    'Shirt ' || b.slug as name,
    10 as price
from brand.brands as b;
select is(i18n.translatable('public.products', array['name']), 'public.products_i18n', 'the translated view');
grant select on public.products_i18n to authenticated;
select tests.authenticate_as(tests.uid('editor@acme'));
select lives_ok(format(
    $$select api.set_content_translation('public.products', '{"brand_id": "%s", "id": 1}',
        'name', 'de', 'Hemd')$$,
    tests.brand('acme')
), 'an editor translates a row');
select throws_ok(format(
    $$select api.set_content_translation('public.products', '{"brand_id": "%s", "id": 1}',
        'name', 'de', 'x')$$,
    tests.brand('bolt')
), '42501', null, 'but not another brand''s row');
select set_config('request.headers', '{"accept-language": "de"}', true);
select
    is((
        select name from public.products_i18n
        where brand_id = tests.brand('acme')
    ), 'Hemd', 'the view speaks German');
select set_config('request.headers', '{"accept-language": "en"}', true);
select
    is((
        select name from public.products_i18n
        where brand_id = tests.brand('acme')
    ), 'Shirt acme', 'or the original');
select tests.clear_authentication();
select
    i18n.set_message(null, 'common', 'a', 'en', '{count, plural, one {# a} other {# as}} {name}', 'published')
    ->> 'status';
do $$ begin
    perform i18n.set_message(null, 'common', 'a', 'de', '{count, plural, other {# as}}', 'published');
end $$;
do $$ begin
    perform i18n.set_message(null, 'common', 'b', 'en', 'B', 'published');
end $$;
select is(
    (
        select array_agg(kind order by kind) from i18n.report(null)
        where locale = 'de'
    ),
    '{missing,placeholder_mismatch,plural_missing}',
    'the report finds the missing key, argument and plural form'
);
select
    is((
        select detail from i18n.report(null)
        where kind = 'plural_missing'
    ), 'count (cardinal) lacks one', 'with detail');
select * from finish();
rollback;
