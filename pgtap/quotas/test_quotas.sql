-- quotas: limits from plan and override, metering with soft and hard limits, alerts
-- once per threshold and period, billing-day periods, bad input, isolation both ways.
begin;
select plan(27);
select tests.seed_two_brands();
select tests.freeze_time('2030-03-15 12:00+00');
update brand.brands set created_at = '2029-01-10 08:00+00'
where slug = 'acme';

select is((quotas.effective(tests.brand('acme'), 'exports')).hard_limit, 5::bigint, 'the free plan''s limit');
insert into quotas.brand_quotas (brand_id, metric, hard_limit) values (tests.brand('acme'), 'exports', 3);
select is((quotas.effective(tests.brand('acme'), 'exports')).hard_limit, 3::bigint, 'a brand override wins');
select is(
    quotas.period_start(tests.brand('acme'), 'month', '2030-03-15 12:00+00'),
    '2030-03-10 00:00+00'::timestamptz,
    'months start on the billing day'
);
select is(
    quotas.period_start(tests.brand('acme'), 'month', '2030-03-05 12:00+00'),
    '2030-02-10 00:00+00'::timestamptz,
    'before it, the period began the month before'
);

create temp table c as select
    1 as n,
    q.*
from quotas.consume(tests.brand('acme'), 'exports', 2) as q;
insert into c select
    2 as n,
    q.*
from quotas.consume(tests.brand('acme'), 'exports', 2) as q;
insert into c select
    3 as n,
    q.*
from quotas.consume(tests.brand('acme'), 'exports', 1) as q;
select results_eq(
    'select allowed, used, remaining from c order by n',
    $$values (true, 2::bigint, 1::bigint), (false, 2::bigint, 1::bigint), (true, 3::bigint, 0::bigint)$$,
    'the hard limit refuses what would pass it, and adds nothing'
);
select results_eq(
    'select threshold from quotas.alerts where metric = ''exports'' order by threshold',
    array[80, 100], '80 % and 100 % alerts were raised'
);
select lives_ok($$select quotas.consume(tests.brand('acme'), 'exports', 0)$$, 'consuming nothing is fine');
select
    is((
        select count(*)::int from quotas.alerts
        where metric = 'exports'
    ), 2, 'alerts are raised once per period');

-- Soft limits allow overshoot and alert at 120 %.
insert into quotas.brand_quotas (brand_id, metric, soft_limit, hard_limit) values (
    tests.brand('acme'), 'storage_bytes', 100, null
);
select
    ok(
        (quotas.consume(tests.brand('acme'), 'storage_bytes', 130)).allowed,
        'without a hard limit, usage may exceed the soft one'
    );
select results_eq(
    'select threshold from quotas.alerts where metric = ''storage_bytes'' order by threshold',
    array[80, 100, 120], 'one consumption can cross several thresholds'
);

-- Rolling windows.
insert into quotas.plan_limits (plan, metric, hard_limit, period, rolling_window) values (
    'burst', 'api_calls', 10, 'rolling', '1 hour'
);
update brand.brands set plan = 'burst'
where slug = 'bolt';
select ok((quotas.consume(tests.brand('bolt'), 'api_calls', 10)).allowed, 'a rolling window allows 10');
select ok(not (quotas.consume(tests.brand('bolt'), 'api_calls', 1)).allowed, 'and no more within the window');
select tests.freeze_time('2030-03-15 13:30+00');
select
    ok(
        (quotas.consume(tests.brand('bolt'), 'api_calls', 1)).allowed, 'an hour later the window has moved on'
    );

select
    throws_ok(
        format('select quotas.consume(%L, ''nope'')', tests.brand('acme')), '22023', null, 'an unknown metric'
    );
select throws_ok(
    format('select quotas.consume(%L, ''api_calls'', -5)', tests.brand('acme')), '22023', null,
    'a negative amount'
);

-- api_calls is buffered: counted in quotas.counters until quotas.flush() copies it.
do $$ begin perform quotas.consume(tests.brand('acme'), 'api_calls', 3); end $$;
select is(
    (
        select used from quotas.metered(tests.brand('acme'), 'api_calls')
    ),
    3::bigint,
    'a buffered metric is metered'
);
select is(
    (
        select count(*)::int from quotas.usage
        where brand_id = tests.brand('acme') and metric = 'api_calls'
    ), 0,
    'without touching quotas.usage'
);
do $$ begin perform quotas.flush(); end $$;
select is(
    (
        select used from quotas.usage
        where brand_id = tests.brand('acme') and metric = 'api_calls'
    ), 3::bigint,
    'until it is flushed'
);

create function tests.quota_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
begin
    perform tests.authenticate_as(tests.uid('viewer@' || mine));
    return next is((select count(*)::int from api.quota_usage where brand_id = tests.brand(theirs)), 0,
        format('quota_usage shows nothing of the other brand (%s -> %s)', mine, theirs));
    return next ok((select count(*) > 0 from api.quota_usage where brand_id = tests.brand(mine)),
        format('and its own usage (%s)', mine));
    return next is((select array_agg(distinct brand_id) from quotas.counters), array[tests.brand(mine)],
        format('unflushed counters: only its own (%s)', mine));
    return next is((select count(*)::int from quotas.metered(tests.brand(theirs), 'api_calls')), 0,
        format('metered usage: none of the other brand (%s -> %s)', mine, theirs));
    perform tests.clear_authentication();
end
$$;
select * from tests.quota_checks('acme', 'bolt');
select * from tests.quota_checks('bolt', 'acme');

select tests.authenticate_as(tests.uid('owner@acme'));
select throws_ok(
    format('insert into quotas.brand_quotas values (%L, ''exports'', null, 999)', tests.brand('acme')),
    '42501', null, 'a brand cannot raise its own quota'
);

select * from finish();
rollback;
