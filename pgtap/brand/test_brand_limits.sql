-- One user may own at most brand.limits.max_owned_brands brands and create at most
-- brands_per_hour per hour (PT429 with a hint); service_role is exempt.
begin;
select plan(10);
select tests.seed_two_brands();

select is(
    (select (max_owned_brands, brands_per_hour)::text from brand.limits), '(10,10)',
    'safe defaults: 10 owned, 10 per hour'
);

update brand.limits set max_owned_brands = 2, brands_per_hour = null;
select tests.authenticate_as(tests.uid('outsider@nowhere'));
select lives_ok($$select api.create_brand('one', 'One')$$, 'first brand');
select lives_ok($$select api.create_brand('two', 'Two')$$, 'second brand');
select throws_ok($$select api.create_brand('three', 'Three')$$, 'PT429', null, 'the third is over the cap');
select isnt(
    (select hint from tests.error_of($$select api.create_brand('three', 'Three')$$)), null, 'with a hint'
);

-- Brands owned count, not brands created: handing one over frees a place.
select tests.clear_authentication();
update brand.members set tier = 'owner'
where brand_id = tests.brand('acme') and user_id = tests.uid('admin@acme');
update brand.members set tier = 'admin'
where brand_id = tests.brand('acme') and user_id = tests.uid('owner@acme');
select tests.authenticate_as_role('service_role');
select lives_ok(
    $$select brand.create_brand_for(tests.uid('outsider@nowhere'), 'four', 'Four')$$,
    'service_role is exempt'
);

-- The rate: brands_per_hour at once, then one every hour / brands_per_hour.
select tests.clear_authentication();
update brand.limits set max_owned_brands = null, brands_per_hour = 2;
select tests.freeze_time('2030-01-01 00:00:00+00');
select tests.authenticate_as(tests.uid('member@bolt'));
select lives_ok($$select api.create_brand('r1', 'R1')$$, 'first in the hour');
select lives_ok($$select api.create_brand('r2', 'R2')$$, 'second in the hour');
select throws_ok(
    $$select api.create_brand('r3', 'R3')$$, 'PT429', 'too many brands created: at most 2 per hour',
    'the third in the same hour is refused'
);
select tests.freeze_time('2030-01-01 00:31:00+00');
select lives_ok($$select api.create_brand('r3', 'R3')$$, 'half an hour later one more is allowed');

select * from finish();
rollback;
