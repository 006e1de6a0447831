-- ratelimit.check() is exact: rates that do not divide their period, weighted costs and the
-- extremes the arguments allow, on a frozen clock. Before 0029 the emission interval was
-- truncated to whole microseconds: 9,000,000 per minute at cost 1,000 admitted 11.1% too
-- many, 1,000,000,000 per hour 20%.
begin;
select plan(23);

-- Calls check() at each of `polls` frozen instants `step_us` apart, as often as it admits,
-- and returns how many it admitted in all.
create function pg_temp.drain(
    k text, rate integer, period interval, burst integer, cost integer, step_us bigint, polls integer
)
returns bigint
language plpgsql
as $$
declare
    admitted bigint := 0;
begin
    for i in 0..polls loop
        perform set_config('brandbase.frozen_now',
            (timestamptz '2030-01-01 00:00:00+00' + make_interval(secs => i * step_us / 1000000.0))::text, true);
        while (select c.allowed from ratelimit.check(k, rate, period, burst, cost) as c) loop
            admitted := admitted + 1;
        end loop;
    end loop;
    return admitted;
end
$$;

-- What exact GCRA admits by time t when drained that often (the key never idles): the k
-- with k * cost * T <= t + (burst + 1) * T, T = period / rate.
create function pg_temp.expected(
    rate integer, period interval, burst integer, cost integer, step_us bigint, polls integer
)
returns bigint
language sql
as $$
    select floor((step_us * polls * rate::numeric + (burst + 1)::numeric * extract(epoch from period) * 1000000)
        / (cost::numeric * extract(epoch from period) * 1000000))::bigint
$$;

select is(
    pg_temp.drain('a', 9000000, '1 minute', 9999, 1000, 10000, 600),
    pg_temp.expected(9000000, '1 minute', 9999, 1000, 10000, 600),
    '9,000,000 per minute at cost 1,000 over 6 s: exactly 900 plus the burst of 10 (truncated: 1,010)'
);
select is(pg_temp.expected(9000000, '1 minute', 9999, 1000, 10000, 600), 910::bigint, '(that is 910)');
select is(
    pg_temp.drain('b', 1000000000, '1 hour', 9999, 1000, 10000, 360),
    pg_temp.expected(1000000000, '1 hour', 9999, 1000, 10000, 360),
    '1,000,000,000 per hour at cost 1,000 over 3.6 s: exactly 1,000 plus 10 (truncated: 1,210)'
);
select is(
    pg_temp.drain('c', 7, '1 second', 5, 3, 100000, 100),
    pg_temp.expected(7, '1 second', 5, 3, 100000, 100),
    '7 per second at cost 3, burst 5, over 10 s'
);
select is(
    pg_temp.drain('d', 3, '1 minute', 2, 1, 7000000, 100),
    pg_temp.expected(3, '1 minute', 2, 1, 7000000, 100),
    '3 per minute, burst 2, polled every 7 s for 700 s'
);
select is(
    pg_temp.drain('e', 999999, '1 second', 9999, 7, 1000, 20),
    pg_temp.expected(999999, '1 second', 9999, 7, 1000, 20),
    '999,999 per second (T just over 1 µs) at cost 7'
);

-- The n-th request after a burst (a multiple of cost) passes at exactly
-- t0 + ceil(n * cost * T), not 1 µs before.
create function pg_temp.boundaries(
    k text, rate integer, period interval, burst integer, cost integer, n integer
)
returns integer
language plpgsql
as $$
declare
    t0 timestamptz := '2030-01-02 00:00:00+00';
    exact_us numeric;
    right_answers integer := 0;
begin
    perform set_config('brandbase.frozen_now', t0::text, true);
    while (select c.allowed from ratelimit.check(k, rate, period, burst, cost) as c) loop
    end loop;
    for i in 1..n loop
        exact_us := ceil(i * cost * extract(epoch from period) * 1000000 / rate);
        perform set_config('brandbase.frozen_now', (t0 + make_interval(secs => (exact_us - 1) / 1000000))::text, true);
        if not (select c.allowed from ratelimit.check(k, rate, period, burst, cost) as c) then
            perform set_config('brandbase.frozen_now', (t0 + make_interval(secs => exact_us / 1000000))::text, true);
            if (select c.allowed from ratelimit.check(k, rate, period, burst, cost) as c) then
                right_answers := right_answers + 1;
            end if;
        end if;
    end loop;
    return right_answers;
end
$$;

select is(
    pg_temp.boundaries('f', 7, '1 second', 100, 1, 60), 60, '7/s: each request passes at its microsecond'
);
select is(
    pg_temp.boundaries('g', 9000000, '1 minute', 99999, 1000, 60), 60, '9,000,000/min, cost 1,000: likewise'
);
select is(
    pg_temp.boundaries('h', 1000000000, '1 hour', 8999, 3, 60), 60, '1,000,000,000/h, cost 3: likewise'
);

-- Extremes: the largest rate, burst and cost; periods beyond a double's exact microseconds.
select tests.freeze_time('2030-01-03 00:00:00+00');
select results_eq(
    $$select allowed, capacity, remaining
      from ratelimit.check('x', 2147483647, '1 second', 2147483646, 2147483647)$$,
    $$values (true, 2147483647, 0)$$,
    'the largest rate, burst and cost'
);
select ok(
    (
        select not c.allowed and c.remaining = 0 and abs(c.retry_after * 2147483647 - 1) < 1e-12
        from ratelimit.check('x', 2147483647, '1 second', 2147483646, 1) as c
    ),
    'then one more waits one emission interval: 1 s / 2,147,483,647'
);
select ok(
    (select allowed from ratelimit.check('y', 2147483647, '100000 years', 0, 1)),
    'a period of 100,000 years (3.2e18 µs, beyond a double''s exact integers) is counted'
);
select ok(
    (
        select
            not c.allowed
            and abs(c.retry_after / (3155760000000000000 / 2147483647.0 / 1000000) - 1) < 1e-12
        from ratelimit.check('y', 2147483647, '100000 years', 0, 1) as c
    ),
    'a refusal waits 3,155,760,000,000,000,000 µs / 2,147,483,647'
);
select tests.freeze_time(
    '2030-01-03 00:00:00+00'::timestamptz
    + make_interval(secs => ceil(3155760000000000000 / 2147483647.0) / 1000000)
);
select ok(
    (select allowed from ratelimit.check('y', 2147483647, '100000 years', 0, 1)),
    'and passes at its microsecond'
);
select tests.freeze_time('2030-01-03 00:00:00+00');
select results_eq(
    $$select allowed, remaining, reset_after from ratelimit.check('z', 1, '35 minutes', 2147483646, 1)$$,
    $$values (true, 2147483646, 2100::float8)$$,
    'the largest burst at one request per 35 minutes (a tolerance of 142,000 years)'
);
select throws_ok(
    $$select ratelimit.check('z', 1, '36 minutes', 2147483646, 1)$$, '22023', null,
    'a tolerance over 2^62 µs is refused'
);
select throws_ok(
    $$select ratelimit.check('z', 1, '1 second', 2147483647, 1)$$, '22023', null,
    'burst 2147483647 is refused (the capacity must fit an integer)'
);
select throws_ok(
    $$select ratelimit.check('z', 1, '-1 second')$$, '22023', null, 'a negative period is refused'
);
select throws_ok(
    $$select ratelimit.check('z', 1, '170000000 years')$$, '22023', null, 'so is one beyond a bigint of µs'
);
select ok(
    (select c.allowed and c.remaining = 3 from ratelimit.check('w', 5, '1 second', 2, 0) as c),
    'cost 0 looks without spending'
);

-- State written before 0029 (whole microseconds: rem 0, den 1) upgrades exactly.
insert into ratelimit.buckets (key, tat)
values ('old', (extract(epoch from timestamptz '2030-01-03 00:00:00.5+00') * 1000000)::bigint);
select results_eq(
    $$select allowed, reset_after, retry_after from ratelimit.check('old', 5, '1 second', 2)$$,
    $$values (false, 0.5::float8, 0.1::float8)$$,
    'an old row''s TAT is read exactly'
);
select tests.freeze_time('2030-01-03 00:00:00.1+00');
select results_eq(
    $$select allowed, remaining from ratelimit.check('old', 5, '1 second', 2)$$,
    $$values (true, 0)$$,
    'and counts on at the new rate'
);
select results_eq(
    $$select tat - (extract(epoch from timestamptz '2030-01-03 00:00:00+00') * 1000000)::bigint, rem, den
      from ratelimit.buckets where key = 'old'$$,
    $$values (700000::bigint, 0::bigint, 5::bigint)$$,
    'now kept in units of the rate'
);

select * from finish();
rollback;
