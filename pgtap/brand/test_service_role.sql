-- Service powers come from the database role, never from the claims: an authenticated
-- session that forges {"role": "service_role"} gets nothing more than its membership.
begin;
select plan(12);
select tests.seed_two_brands();
create function tests.is_service_inside_definer()
returns boolean
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$ select brand.caller_is_service() $$;
grant execute on function tests.is_service_inside_definer() to authenticated, anon;

-- Forged claims: the database role is authenticated, the claim says service_role.
select tests.authenticate_as(tests.uid('viewer@acme'));
select set_config('request.jwt.claims', json_build_object(
    'sub', tests.uid('viewer@acme'), 'role', 'service_role', 'email', 'viewer@acme.test'
)::text, true);
select ok(not brand.caller_is_service(), 'a forged role claim is not service_role');
select ok(not brand.has_permission(tests.brand('bolt'), 'brand.read'), 'no permission in another brand');
select ok(not brand.has_permission(tests.brand('acme'), 'brand.update'), 'nor above its tier in its own');
select throws_ok(
    format('select api.update_brand(%L, ''pwned'')', tests.brand('bolt')),
    '42501', format('not a member of brand %s', tests.brand('bolt')), 'cannot rename another brand'
);
select throws_ok(
    format('select api.set_member_tier(%L, %L, ''owner'')', tests.brand('acme'), tests.uid('viewer@acme')),
    '42501', null, 'cannot make itself owner'
);
select throws_ok(
    format('select api.delete_brand(%L)', tests.brand('bolt')), '42501', null, 'cannot delete another brand'
);
select is((brand.caller_tier(tests.brand('acme')))::text, 'viewer', 'its tier is its membership''s');

select tests.clear_authentication();
set local role anon;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select ok(not tests.is_service_inside_definer(), 'anon with a forged claim is not service_role either');

-- The real thing: the database role service_role, whatever the claims say.
select tests.clear_authentication();
set local role service_role;
select ok(brand.caller_is_service(), 'the database role service_role is');
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select ok(brand.has_permission(tests.brand('bolt'), 'brand.delete'), 'and keeps its powers under any claims');

-- Inside a security definer function current_user is the owner; the invoking role counts.
select tests.authenticate_as(tests.uid('owner@acme'));
select ok(not tests.is_service_inside_definer(), 'inside a definer function the invoker decides');
select tests.clear_authentication();
select ok(brand.caller_is_service(), 'the owner''s own session (no SET ROLE) is trusted');

select * from finish();
rollback;
