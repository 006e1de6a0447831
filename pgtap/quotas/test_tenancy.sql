-- quotas and ratelimit functions a tenant can reach answer for its own brands only: another
-- brand gets the same answer as a brand that does not exist (no existence oracle), and
-- quotas.effective() (which reads any brand as the owner) is the operator's alone.
begin;
select plan(9);
select tests.seed_two_brands();
select tests.freeze_time('2030-03-15 12:00+00');
insert into quotas.brand_quotas (brand_id, metric, hard_limit) values (tests.brand('bolt'), 'ai_tokens', 777);
insert into ratelimit.brand_policies (brand_id, api_role, scope, rate, period, burst)
values (tests.brand('bolt'), 'authenticated', 'caller', 7, '1 minute', 0);
do $$ begin perform quotas.consume(tests.brand('bolt'), 'exports', 2); end $$;

select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('select quotas.effective(%L, ''ai_tokens'')', tests.brand('bolt')), '42501', null,
    'a tenant cannot call quotas.effective() for another brand'
);
select throws_ok(
    format('select quotas.effective(%L, ''ai_tokens'')', tests.brand('acme')), '42501', null,
    'nor for its own: its limits are in api.quota_usage'
);
select is(
    (
        select hard_limit from api.quota_usage
        where brand_id = tests.brand('acme') and metric = 'exports'
    ),
    5::bigint,
    'which shows them'
);
select results_eq(
    format('select * from ratelimit.policies_for(%L, ''authenticated'', ''GET /x'')', tests.brand('bolt')),
    $$select * from ratelimit.policies_for(
        '6d1f4a4e-0000-4000-8000-000000000009', 'authenticated', 'GET /x')$$,
    'policies_for: another brand answers as a missing one'
);
select results_eq(
    format('select * from quotas.metered(%L, ''exports'')', tests.brand('bolt')),
    $$select * from quotas.metered('6d1f4a4e-0000-4000-8000-000000000009', 'exports')$$,
    'metered: likewise'
);
select is(
    quotas.period_start(tests.brand('bolt'), 'month', '2030-03-15'),
    quotas.period_start('6d1f4a4e-0000-4000-8000-000000000009', 'month', '2030-03-15'),
    'period_start: likewise'
);
select tests.clear_authentication();

select tests.authenticate_as_role('service_role');
select is(
    (quotas.effective(tests.brand('bolt'), 'ai_tokens')).hard_limit, 777::bigint,
    'service_role reads any brand''s limits'
);
select throws_ok(
    $$select quotas.effective('6d1f4a4e-0000-4000-8000-000000000009', 'ai_tokens')$$,
    'PT404',
    'brand 6d1f4a4e-0000-4000-8000-000000000009 not found',
    'an unknown brand is PT404 (404), not P0002'
);
select throws_ok(
    $$select quotas.consume('6d1f4a4e-0000-4000-8000-000000000009', 'exports')$$,
    'PT404', null, 'consume() too'
);
select tests.clear_authentication();

select * from finish();
rollback;
