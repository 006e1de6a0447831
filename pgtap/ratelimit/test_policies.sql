-- Rate-limit policies: the role's default, plan defaults, per-brand overrides, route
-- policies, the brand-wide limit, anonymous callers by IP through the hook, bad input,
-- and brand isolation of the overrides both ways.
begin;
select plan(18);
select tests.seed_two_brands();
select tests.freeze_time('2030-06-01 12:00+00');
update brand.brands set plan = 'pro'
where slug = 'bolt';

select results_eq(
    $$select scope, route, rate, burst from ratelimit.policies_for(null, 'anon', 'GET /things')$$,
    $$values ('caller', '*', 60, 30)$$,
    'no brand named: the role''s default'
);
select results_eq(
    format(
        'select scope, route, rate, burst from ratelimit.policies_for(%L, ''authenticated'', ''GET /x'')'
        ' order by scope', tests.brand('bolt')
    ),
    $$values ('brand', '*', 30000, 3000), ('caller', '*', 1200, 200)$$,
    'a pro brand: its plan''s caller and brand policies replace the role''s default'
);
select results_eq(
    format(
        'select scope, rate from ratelimit.policies_for(%L, ''authenticated'', ''GET /x'') order by scope',
        tests.brand('acme')
    ),
    $$values ('brand', 3000), ('caller', 600)$$,
    'a free brand: the plan''s brand policy, the role''s caller default'
);

insert into ratelimit.brand_policies (brand_id, api_role, scope, route, rate, period, burst) values
(tests.brand('acme'), 'authenticated', 'caller', '*', 10, '1 minute', 4),
(tests.brand('acme'), 'authenticated', 'caller', 'POST /rpc/export', 1, '1 hour', 0);
select results_eq(
    format(
        'select route, rate, burst from ratelimit.policies_for(%L, ''authenticated'', ''POST /rpc/export'')'
        ' where scope = ''caller'' order by route', tests.brand('acme')
    ),
    $$values ('*', 10, 4), ('POST /rpc/export', 1, 0)$$,
    'a brand override replaces the default, and a route policy adds to it'
);
select is(
    (
        select count(*)::integer from ratelimit.policies_for(tests.brand('acme'), 'authenticated', 'GET /x')
        where route <> '*'
    ), 0, 'a route policy applies to its route only'
);

-- Through the limiter: the route's bucket is its own, and the tightest policy speaks.
select is(
    (ratelimit.limit_request(tests.brand('acme'), 'authenticated', 'user:1', 'POST /rpc/export')).remaining,
    0, 'the tightest policy gives the headers (the route allows one an hour)'
);
select ok(
    not (ratelimit.limit_request(tests.brand('acme'), 'authenticated', 'user:1', 'POST /rpc/export')).allowed,
    'the second export in the hour is refused'
);
select ok(
    (ratelimit.limit_request(tests.brand('acme'), 'authenticated', 'user:1', 'GET /things')).allowed,
    'other routes of the same caller still pass'
);
select ok(
    (ratelimit.limit_request(tests.brand('acme'), 'authenticated', 'user:1', 'GET /things')).policy
    similar to '(10;w=60;burst=4, 3000;w=60;burst=300|3000;w=60;burst=300, 10;w=60;burst=4)',
    'RateLimit-Policy lists every policy met'
);
select ok(
    (ratelimit.limit_request(tests.brand('bolt'), 'authenticated', 'user:1', 'POST /rpc/export')).allowed,
    'the same user in another brand has its own allowance'
);

-- The brand-wide policy counts all of the brand's callers together.
update ratelimit.brand_policies set rate = 1000
where brand_id = tests.brand('acme');
insert into ratelimit.brand_policies (brand_id, api_role, scope, rate, period, burst)
values (tests.brand('acme'), 'anon', 'brand', 1, '1 hour', 1);
select ok(
    (ratelimit.limit_request(tests.brand('acme'), 'anon', 'ip:198.51.100.1', 'GET /x')).allowed
    and (ratelimit.limit_request(tests.brand('acme'), 'anon', 'ip:198.51.100.2', 'GET /x')).allowed
    and not (ratelimit.limit_request(tests.brand('acme'), 'anon', 'ip:198.51.100.3', 'GET /x')).allowed,
    'a brand policy limits all anonymous callers of the brand together'
);

-- Through the hook: anonymous callers are keyed by the client IP from trusted proxies.
insert into access.trusted_proxies (network) values ('10.0.0.0/8');
update ratelimit.policies set rate = 1, burst = 0
where api_role = 'anon';
select lives_ok($$
    select set_config('request.headers', '{"x-forwarded-for": "203.0.113.5, 10.0.0.1"}', true),
           set_config('request.jwt.claims', '{"role": "anon"}', true), brandbase.pre_request()
$$, 'an anonymous request passes');
select throws_ok($$
    select set_config('request.headers', '{"x-forwarded-for": "203.0.113.5, 10.0.0.2"}', true),
           set_config('request.jwt.claims', '{"role": "anon"}', true), brandbase.pre_request()
$$, 'PGRST', null, 'the same client through another proxy shares its allowance (429)');

-- Bad input, and isolation of the overrides both ways.
select throws_ok(
    $$insert into ratelimit.plan_policies (plan, api_role, scope, route, rate, period)
      values ('free', 'anon', 'caller', 'FETCH /x', 1, '1 minute')$$,
    '23514', null, 'a route must be a method and a path'
);
select tests.authenticate_as(tests.uid('admin@acme'));
select is(
    (select count(*)::integer from ratelimit.brand_policies), 3, 'acme''s admin reads acme''s overrides'
);
select throws_ok(
    format(
        'insert into ratelimit.brand_policies (brand_id, api_role, scope, rate, period) '
        'values (%L, ''anon'', ''caller'', 1000000, ''1 second'')', tests.brand('acme')
    ),
    '42501', null, 'but a brand cannot raise its own limits'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.uid('admin@bolt'));
select is(
    (select count(*)::integer from ratelimit.brand_policies), 0,
    'bolt''s admin sees none of acme''s overrides'
);
select is(
    (
        select count(*)::integer
        from ratelimit.policies_for(tests.brand('acme'), 'authenticated', 'POST /rpc/export')
        where rate in (10, 1)
    ), 0, 'nor through policies_for()'
);
select tests.clear_authentication();

select * from finish();
rollback;
