-- A brand's IP rules hold wherever the brand is resolved (brand.has_permission,
-- brand.require_permission, brand.brands_with), not only when the request names it; the
-- client address comes only from a configured proxy (unknown otherwise: allowlists deny,
-- deny-lists cannot match); cf-connecting-ip when that is the header configured.
begin;
select plan(16);
select tests.seed_two_brands();
select tests.freeze_time('2030-06-01 12:00+00');
insert into access.settings (name, value) values ('client_ip_header', 'x-forwarded-for');
insert into access.ip_rules (brand_id, network, action) values (
    tests.brand('acme'), '203.0.113.0/24', 'allow'
);
insert into access.ip_rules (brand_id, network, action) values (tests.brand('bolt'), '192.0.2.0/24', 'deny');

-- A request of owner@acme (also a viewer of bolt) from an address, naming a brand or none.
create function tests.as_owner(headers jsonb)
returns text
language plpgsql
as $$
begin
    perform tests.add_member(tests.brand('bolt'), tests.uid('owner@acme'), 'viewer')
    where not exists (
        select from brand.members where brand_id = tests.brand('bolt') and user_id = tests.uid('owner@acme')
    );
    perform set_config('request.headers', headers::text, true);
    perform set_config('request.method', 'POST', true);
    perform tests.authenticate_as(tests.uid('owner@acme'));
    perform brandbase.pre_request();
    return '# request of owner@acme with ' || headers::text;
end
$$;

select tests.as_owner('{"x-forwarded-for": "198.51.100.7"}');
select ok(true, 'a request from outside acme''s network naming no brand passes the hook');
select ok(
    not brand.has_permission(tests.brand('acme'), 'brand.update'),
    'but has_permission refuses acme to it'
);
select throws_ok(
    format('select api.update_brand(%L, ''renamed from outside'')', tests.brand('acme')),
    '42501', format('access rules of brand %s refuse this client: ip not allowed', tests.brand('acme')),
    'and acme''s RPCs refuse it (42501, the reason said to a member only)'
);
select is(
    array(select brand.brands_with('brand.read')), array[tests.brand('bolt')],
    'brands_with (the RLS set form) leaves acme out'
);
select ok(brand.has_permission(tests.brand('bolt'), 'brand.read'), 'while bolt, without rules for it, stays');
select tests.clear_authentication();

select tests.as_owner(
    jsonb_build_object('x-forwarded-for', '198.51.100.7', 'x-brand-id', tests.brand('bolt'))
);
select throws_ok(
    format('select api.update_brand(%L, ''renamed from outside'')', tests.brand('acme')),
    '42501', null, 'naming another brand does not lift acme''s allowlist either'
);
select tests.clear_authentication();

select tests.as_owner(jsonb_build_object('x-forwarded-for', '198.51.100.7, 203.0.113.9'));
select is(
    (api.update_brand(tests.brand('acme'), 'renamed inside')).name, 'renamed inside',
    'from inside acme''s network (the proxy''s hop) it works'
);
select tests.clear_authentication();

select tests.as_owner(jsonb_build_object('x-forwarded-for', '203.0.113.9, 198.51.100.7'));
select ok(
    not brand.has_permission(tests.brand('acme'), 'brand.update'),
    'an allowed address written left of the proxy''s hop does not count'
);
select tests.clear_authentication();

-- No proxy configured: the address is unknown.
delete from access.settings
where name = 'client_ip_header';
select tests.as_owner(jsonb_build_object('x-forwarded-for', '203.0.113.9'));
select ok(
    not brand.has_permission(tests.brand('acme'), 'brand.update'),
    'no trusted proxy configured: a forged X-Forwarded-For inside the allowlist is refused (fail closed)'
);
select ok(
    brand.has_permission(tests.brand('bolt'), 'brand.read'),
    'and bolt''s deny-list cannot match an unknown address'
);
select tests.clear_authentication();

-- Behind Supabase's edge: cf-connecting-ip, set by Cloudflare, overriding the client's.
insert into access.settings (name, value) values ('client_ip_header', 'cf-connecting-ip');
select tests.as_owner(
    jsonb_build_object('x-forwarded-for', '203.0.113.9', 'cf-connecting-ip', '198.51.100.7')
);
select ok(not brand.has_permission(tests.brand('acme'), 'brand.update'), 'cf-connecting-ip decides, not XFF');
select tests.clear_authentication();
select tests.as_owner(jsonb_build_object('cf-connecting-ip', '203.0.113.44'));
select ok(brand.has_permission(tests.brand('acme'), 'brand.update'), 'an allowed cf-connecting-ip passes');
select tests.clear_authentication();
select tests.as_owner(jsonb_build_object('cf-connecting-ip', '192.0.2.1'));
select ok(not brand.has_permission(tests.brand('bolt'), 'brand.read'), 'and a denied one is refused by bolt');
select tests.clear_authentication();

-- Outsiders learn nothing of a brand's rules: the same 42501 as for a brand without any.
select tests.authenticate_as(tests.uid('outsider@nowhere'));
select throws_ok(
    format('select api.update_brand(%L, ''x'')', tests.brand('acme')),
    '42501', format('not a member of brand %s', tests.brand('acme')), 'a non-member of acme: not a member'
);
select tests.clear_authentication();

-- Rule management: bounded inputs, and a missing rule is PT404.
select set_config('request.headers', '{"cf-connecting-ip": "203.0.113.5"}', true);
select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    format('select api.add_ip_rule(%L, ''10.0.0.0/8'', ''deny'', repeat(''x'', 1001))', tests.brand('acme')),
    '22001', null, 'a note over 1000 bytes is refused'
);
select throws_ok(
    format('select api.remove_ip_rule(%L, -1)', tests.brand('acme')),
    'PT404', 'ip rule -1 not found', 'removing a missing rule is PT404, not a silent no-op'
);
select tests.clear_authentication();

select * from finish();
rollback;
