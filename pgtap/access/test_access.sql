-- access: client IP from trusted proxies only, deny beats allow, allowlists per scope,
-- IPv4 and IPv6, geo rules, bad input, denials counted, isolation both ways.
begin;
select plan(23);
select tests.seed_two_brands();

insert into access.trusted_proxies (network) values ('10.0.0.0/8'), ('2001:db8:ffff::/48');
select is(
    access.client_ip('{"x-forwarded-for": "198.51.100.7, 10.0.0.2"}'), '198.51.100.7'::inet,
    'the address the trusted proxy saw is the client'
);
select is(
    access.client_ip('{"x-forwarded-for": "1.2.3.4, 198.51.100.7, 10.0.0.2"}'), '198.51.100.7'::inet,
    'a spoofed entry left of the first untrusted hop is ignored'
);
select is(
    access.client_ip('{"x-forwarded-for": "198.51.100.7"}'), '198.51.100.7'::inet,
    'a direct client is itself'
);
select ok(access.client_ip('{}') is null, 'no header: unknown, never guessed');
select ok(access.client_ip('{"x-forwarded-for": "not-an-ip, 10.0.0.2"}') is null, 'garbage: unknown');
select ok(
    access.client_ip('{"x-forwarded-for": "300.1.2.3"}') is null, 'an out-of-range IPv4 address: unknown'
);
select
    is(
        access.client_ip('{"x-forwarded-for": "2001:db8:1::5, 2001:db8:ffff::1"}'),
        '2001:db8:1::5'::inet,
        'IPv6 too'
    );

select tests.authenticate_as(tests.uid('admin@acme'));
select ok(api.add_ip_rule(tests.brand('acme'), '203.0.113.0/24', 'deny') > 0, 'an admin adds a deny rule');
select tests.clear_authentication();
select
    is(
        (access.decide(tests.brand('acme'), '203.0.113.9', null)).reason,
        'ip denied',
        'a denied network is refused'
    );
select ok((access.decide(tests.brand('bolt'), '203.0.113.9', null)).allowed, 'only for that brand');
select ok((access.decide(tests.brand('acme'), '198.51.100.7', null)).allowed, 'other addresses pass');

select tests.authenticate_as(tests.uid('admin@acme'));
select lives_ok(
    format('select api.add_ip_rule(%L, ''2001:db8:1::/48'', ''allow'')', tests.brand('acme')),
    'an allow rule turns the brand into an allowlist'
);
select tests.clear_authentication();
select
    is(
        (access.decide(tests.brand('acme'), '198.51.100.7', null)).reason,
        'ip not allowed',
        'others are refused now'
    );
select
    ok(
        (access.decide(tests.brand('acme'), '2001:db8:1::5', null)).allowed, 'the allowed IPv6 network passes'
    );
select ok(not (access.decide(tests.brand('acme'), null, null)).allowed, 'unknown addresses fail allowlists');

select tests.authenticate_as(tests.uid('admin@bolt'));
select lives_ok(format('select api.set_geo_rule(%L, ''ru'', ''deny'')', tests.brand('bolt')), 'a geo rule');
select throws_ok(
    format('select api.set_geo_rule(%L, ''XX'', ''deny'')', tests.brand('bolt')), '22023',
    'unknown country code "XX"', 'an unknown country code is refused'
);
select throws_ok(
    format('select api.add_ip_rule(%L, ''300.1.2.3/8'', ''deny'')', tests.brand('bolt')), '22023',
    'malformed network "300.1.2.3/8"', 'a malformed cidr is refused'
);
select throws_ok(
    format('select api.add_ip_rule(%L, ''1.2.3.0/24'', ''deny'')', tests.brand('acme')), '42501', null,
    'no rules for another brand'
);
select is(
    (
        select count(*)::int from access.ip_rules
        where brand_id = tests.brand('acme')
    ), 0,
    'and nothing of it is visible'
);
select tests.clear_authentication();
select
    is(
        (access.check(tests.brand('bolt'), '198.51.100.7', 'RU')).reason,
        'country denied',
        'the country is refused'
    );
select is((
    select denied from access.denials
    where brand_id = tests.brand('bolt')
), 1::bigint, 'and counted');

insert into access.settings values ('country_header', 'cf-ipcountry');
select
    is(
        access.country_of('198.51.100.7', '{"cf-ipcountry": "de"}'),
        'DE',
        'the trusted country header is used'
    );

select * from finish();
rollback;
