-- Functions granted to the API roles take exactly what their api wrappers pass; choosing
-- a plan, a validity or another user as owner is for service_role only.
begin;
select plan(12);
select tests.seed_two_brands();

select is_empty(
    $$select p.oid::regprocedure from pg_proc as p
      where p.pronamespace = 'brand'::regnamespace
        and (has_function_privilege('authenticated', p.oid, 'execute')
             or has_function_privilege('anon', p.oid, 'execute'))
        and p.proargnames && array['plan', 'valid_for', 'owner_id']$$,
    'no function the API roles may call takes a plan, a validity or an owner'
);

select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    $$select brand.create_brand_for(tests.uid('owner@acme'), 'rich', 'Rich', 'enterprise')$$,
    '42501', null, 'authenticated cannot pick a plan'
);
select throws_ok(
    format(
        'select brand.invite_for(%L, ''a@b.test'', ''admin'', interval ''100 years'')', tests.brand('acme')
    ),
    '42501', null, 'authenticated cannot pick a validity'
);
select throws_ok(
    $$select brand.create_brand('x', 'X', 'enterprise')$$, '42883', null,
    'the old three-argument create_brand is gone'
);
select is((api.create_brand('plain', 'Plain')).plan, 'free', 'api.create_brand: the free plan');
select tests.clear_authentication();
create temp table token (value text);
grant all on token to authenticated;
select tests.authenticate_as(tests.uid('owner@acme'));
insert into token select api.invite_member(tests.brand('acme'), 'w@x.test');
select is(
    (
        select expires_at - created_at from brand.invitations
        where token_sha256 = sha256(convert_to((select t.value from token as t), 'UTF8'))
    ),
    interval '7 days', 'api.invite_member: 7 days'
);

select tests.authenticate_as_role('service_role');
select is(
    (brand.create_brand_for(tests.uid('outsider@nowhere'), 'pro-co', 'Pro Co', 'pro')).plan, 'pro',
    'service_role creates a brand on a chosen plan'
);
select is(
    (
        select tier from brand.members
        where brand_id = tests.brand('pro-co')
    ), 'owner'::brand.tier,
    'owned by the given user'
);
select ok(
    brand.invite_for(tests.brand('acme'), 'long@x.test', 'member', interval '30 days') is not null,
    'service_role chooses a validity'
);
select throws_ok(
    format(
        'select brand.invite_for(%L, ''a@b.test'', ''member'', interval ''100 years'')', tests.brand('acme')
    ),
    '22023', null, 'within 90 days'
);
select throws_ok(
    format('select brand.invite_for(%L, ''a@b.test'', ''member'', interval ''-1 day'')', tests.brand('acme')),
    '22023', null, 'and positive'
);
select throws_ok(
    $$select brand.create_brand_for(gen_random_uuid(), 'ghost', 'Ghost')$$, '22023', null,
    'the owner must exist'
);

select * from finish();
rollback;
