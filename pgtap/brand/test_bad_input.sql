-- Bad input gets a clear error with a stable SQLSTATE and a hint, and writes nothing.
begin;
select plan(9);
select tests.seed_two_brands();

select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    $$select count(*) from brand.brands where id in (select brand.brands_with('brand.raed'))$$,
    '22023', 'unknown permission "brand.raed"', 'a misspelt permission in a policy query fails loudly'
);
select throws_ok(
    format('select brand.has_permission(%L, ''nope.nope'')', tests.brand('acme')),
    '22023', null, 'has_permission() refuses unknown permissions too'
);
select throws_ok(
    format('select api.invite_member(%L, ''not an email'')', tests.brand('acme')),
    '22023', 'invalid invitation email "not an email"', 'a malformed email is refused'
);
select throws_ok(
    format('select brand.invite_for(%L, ''a@b.test'', ''member'', interval ''1 day'')', tests.brand('acme')),
    '42501', null, 'tenants cannot choose a validity (privileged variant)'
);
select throws_ok(
    format('select api.set_member_tier(%L, %L, ''viewer'')', tests.brand('acme'), tests.uid('owner@bolt')),
    'PT404', null, 'changing a non-member''s tier says so'
);
select throws_ok(
    format('select api.update_brand(%L, %L)', tests.brand('acme'), repeat('x', 300)),
    '22001', null, 'an over-long name is refused'
);

select tests.authenticate_as(tests.uid('outsider@nowhere'));
select throws_ok(
    format('select api.update_brand(%L, ''x'')', tests.brand('acme')),
    '42501', format('not a member of brand %s', tests.brand('acme')), 'a non-member is told so'
);

select tests.clear_authentication();
select is((
    select name from brand.brands
    where slug = 'acme'
), 'Acme', 'nothing was half-written');
select is((select count(*)::int from brand.invitations), 0, 'no invitation was written');

select * from finish();
rollback;
