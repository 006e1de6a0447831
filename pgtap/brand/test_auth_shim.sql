-- The auth shim reads request.jwt.claims exactly as PostgREST sets it; brandbase's own
-- readers turn malformed claims into a clear 28000 error.
begin;
select plan(9);
-- As PostgREST's requests run: the owner's own session is trusted (service) by role.
set local role authenticated;

select set_config(
    'request.jwt.claims',
    '{"sub": "6f1b7a52-8a47-4d0e-9a3e-2c1d1f0e9b11", "role": "authenticated", "email": "x@y.z"}',
    true
);
select is(auth.uid(), '6f1b7a52-8a47-4d0e-9a3e-2c1d1f0e9b11'::uuid, 'auth.uid() is the sub claim');
select is(auth.role(), 'authenticated', 'auth.role() is the role claim');
select is(auth.jwt() ->> 'email', 'x@y.z', 'auth.jwt() returns every claim');
select is(brand.caller_id(), auth.uid(), 'brand.caller_id() agrees with auth.uid()');

select set_config('request.jwt.claims', '', true);
select ok(brand.caller_id() is null, 'no claims: anonymous, no error');

select set_config('request.jwt.claims', '{"sub": "not-a-uuid"}', true);
select throws_ok(
    'select brand.require_caller()', '28000', 'malformed JWT claims in request.jwt.claims',
    'a sub that is not a uuid is a 28000 error'
);

select set_config('request.jwt.claims', '{broken', true);
select throws_ok(
    'select brand.brands_with(''brand.read'')',
    '28000', null, 'claims that are not JSON: 28000 from the policy helper'
);

select set_config('request.jwt.claims', '[1, 2]', true);
select throws_ok(
    'select brand.has_permission(gen_random_uuid(), ''brand.read'')', '28000', null,
    'claims that are not an object: 28000, even inside a policy helper'
);

select set_config('request.jwt.claims', '', true);
select throws_ok(
    'select brand.require_caller()', '28000', 'not authenticated',
    'functions that need a user refuse anonymous callers'
);

select * from finish();
rollback;
