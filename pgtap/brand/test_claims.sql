-- Malformed claims (a sub that is not a uuid, claims that are not JSON or not an object)
-- and a missing sub: every function and view of brand answers 28000 with a hint, never a
-- raw 22P02. One parser (brand.claims()) decides.
begin;
select plan(5);
select tests.seed_two_brands();

create temp table probes (what text, query text);
create temp table outcomes (claims text, what text, code text, hint text);
grant all on probes, outcomes to authenticated;
insert into probes values
('api.my_brands', 'select count(*) from api.my_brands'),
('api.my_permissions', 'select count(*) from api.my_permissions'),
('api.brand_members', 'select count(*) from api.brand_members'),
('api.brand_invitations', 'select count(*) from api.brand_invitations'),
('brand.brands', 'select count(*) from brand.brands'),
('api.create_brand', $$select api.create_brand('claims-co', 'Claims Co')$$),
('api.update_brand', format('select api.update_brand(%L, ''x'')', tests.brand('acme'))),
('api.delete_brand', format('select api.delete_brand(%L)', tests.brand('acme'))),
('api.invite_member', format('select api.invite_member(%L, ''a@b.test'')', tests.brand('acme'))),
('api.revoke_invitation', format('select api.revoke_invitation(%L, gen_random_uuid())', tests.brand('acme'))),
('api.accept_invitation', $$select api.accept_invitation('x')$$),
(
    'api.set_member_tier',
    format('select api.set_member_tier(%L, %L, ''viewer'')', tests.brand('acme'), tests.uid('viewer@acme'))
),
(
    'api.remove_member',
    format('select api.remove_member(%L, %L)', tests.brand('acme'), tests.uid('viewer@acme'))
),
('brand.has_permission', format('select brand.has_permission(%L, ''brand.read'')', tests.brand('acme'))),
('brand.caller_tier', format('select brand.caller_tier(%L)', tests.brand('acme'))),
('brand.caller_id_checked', 'select brand.caller_id_checked()');

set local role authenticated;
do $$
declare
    c text;
    p record;
    e record;
begin
    foreach c in array array[
        '{"sub": "user-1", "role": "authenticated"}',
        '{"sub": 42, "role": "authenticated"}',
        '{broken',
        '[1, 2]',
        '"just a string"'
    ] loop
        perform set_config('request.jwt.claims', c, true);
        for p in select * from probes loop
            select * into e from tests.error_of(p.query);
            insert into outcomes values (c, p.what, e.code, e.hint);
        end loop;
    end loop;
end
$$;

select is_empty(
    $$select claims, what, code from outcomes where code is distinct from '28000'$$,
    'malformed claims: 28000 from every function and view'
);
select is_empty(
    $$select claims, what from outcomes where hint is null$$, 'each with a hint'
);

-- Signed in without a sub: what needs the user says 28000; membership views are empty.
truncate outcomes;
do $$
declare
    p record;
    e record;
begin
    perform set_config('request.jwt.claims', '{"role": "authenticated"}', true);
    for p in select * from probes where what not in ('api.brand_members', 'api.brand_invitations',
        'brand.brands', 'brand.has_permission', 'brand.caller_tier',
        'brand.caller_id_checked') loop
        select * into e from tests.error_of(p.query);
        insert into outcomes values ('no sub', p.what, e.code, e.hint);
    end loop;
end
$$;
select is_empty(
    $$select what, code from outcomes where code is distinct from '28000' or hint is null$$,
    'no sub: 28000 with a hint from every function and the my_* views'
);
select is(
    (select count(*)::int from api.brand_members), 0, 'no sub: the membership views show nothing'
);

select set_config('request.jwt.claims', '{"sub": "auth0|1234", "role": "authenticated"}', true);
select throws_ok(
    'select brand.caller_id()', '28000', 'malformed JWT claims in request.jwt.claims',
    'the inlined brand.caller_id() hands a non-uuid sub to the parser too'
);

select * from finish();
rollback;
