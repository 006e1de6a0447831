-- ratelimit.check()'s hot path (migration 0033) uses constants the general path stored with
-- the key for the arguments it validated: it must answer exactly as the general path does,
-- never reuse constants of other arguments (a period spelled differently, another burst or
-- cost or rate), and leave arguments beyond its bounds to the general path. Frozen clock.
begin;
select plan(15);

-- Freezes the clock us µs after 2030-01-01; returns a TAP comment.
create function pg_temp.at(us bigint)
returns text
language sql
as $$
    select '# clock at ' || set_config('brandbase.frozen_now',
        (timestamptz '2030-01-01 00:00:00+00' + make_interval(secs => us / 1000000.0))::text, true)
$$;

-- The first call stores the constants.
select pg_temp.at(0);
select ok((select c.allowed from ratelimit.check('h1', 7, '1 second', 5, 3) as c), 'a new key is admitted');
select results_eq(
    $$select at_period_us, at_burst, at_cost, step, step_rem, slack, cap, t_less1, den
      from ratelimit.buckets where key = 'h1'$$,
    $$values (
        1000000::bigint, 5, 3, 428571::bigint, 3::bigint, 428571::bigint, 6, 999999::bigint, 7::bigint
    )$$,
    'the general path stores the hot constants for its arguments (3 * 1/7 s = 428,571 3/7 µs)'
);

-- The hot path answers as the general path would: one key takes the hot path, the other
-- has its constants removed before every call; same instants, same arguments.
create function pg_temp.compare_paths(
    rate integer, period interval, burst integer, cost integer, step_us bigint
)
returns setof text
language plpgsql
as $$
declare
    hot record;
    general record;
begin
    for i in 0..80 loop
        perform pg_temp.at(i * step_us);
        update ratelimit.buckets set at_period = null where key = 'gen:' || rate;
        hot := ratelimit.check('hot:' || rate, rate, period, burst, cost);
        general := ratelimit.check('gen:' || rate, rate, period, burst, cost);
        if hot is distinct from general then
            return next format('at %s µs: hot %s, general %s', i * step_us, hot, general);
        end if;
    end loop;
end
$$;
select is_empty(
    $$select * from pg_temp.compare_paths(7, '1 second', 5, 3, 37000)$$,
    'hot and general paths agree: 7 per second, burst 5, cost 3'
);
select is_empty(
    $$select * from pg_temp.compare_paths(9000000, '1 minute', 9999, 1000, 333)$$,
    'hot and general paths agree: 9,000,000 per minute, cost 1,000'
);
select is_empty(
    $$select * from pg_temp.compare_paths(3, '1 hour', 0, 1, 1000000000)$$,
    'hot and general paths agree: 3 per hour, burst 0'
);
select ok(
    (
        select count(*) from ratelimit.buckets
        where key like 'hot:%' and at_period is not null
    ) = 3,
    'the hot keys kept their constants'
);

-- Another spelling of a period that interval comparison calls equal: '1 year' is 365.25
-- days of epoch, '360 days' is 360. The constants of one must not serve the other.
select pg_temp.at(0);
select
    ok(
        (select c.allowed from ratelimit.check('y', 1, '1 year', 0) as c),
        'one per year: the first passes'
    );
select pg_temp.at(360::bigint * 86400 * 1000000);
select is(
    (select c.allowed from ratelimit.check('y', 1, '360 days', 0) as c), false,
    'after 360 days the key still owes 5.25 days of the year: refused at one per 360 days too'
);
select pg_temp.at(0);
select
    ok(
        (select c.allowed from ratelimit.check('z', 1, '360 days', 0) as c),
        'one per 360 days: the first passes'
    );
select pg_temp.at(360::bigint * 86400 * 1000000);
select is(
    (select row(c.allowed, c.reset_after) from ratelimit.check('z', 1, '1 year', 0) as c),
    row(true, 31557600::float8),
    'after 360 days, at one per year: admitted, and a year (365.25 days) to reset'
);

-- Other arguments for a key with constants: counted by the general path, exactly.
select pg_temp.at(0);
select is(
    (select row(c.allowed, c.remaining) from ratelimit.check('h1', 7, '1 second', 5, 1) as c),
    row(true, 2), 'h1 at cost 1 after cost 3, same instant: TAT 4/7 s, 6 - 4 = 2 left (general path)'
);

-- Beyond the hot path's bounds ((burst + 1) * period_us >= 2^53): no constants, exact.
select pg_temp.at(0);
select
    ok(
        (select c.allowed from ratelimit.check('big', 1000, '1 day', 200000) as c),
        'a key beyond the hot bounds'
    );
select is(
    (
        select at_period from ratelimit.buckets
        where key = 'big'
    ), null::float8,
    'arguments beyond the hot bounds store no constants'
);
select is(
    (select row(c.allowed, c.remaining) from ratelimit.check('big', 1000, '1 day', 200000, 200000) as c),
    row(true, 0), 'and are counted exactly: 200,000 more at once leave none'
);
select is(
    (select c.allowed from ratelimit.check('big', 1000, '1 day', 200000) as c), false,
    'then one more is refused'
);

select * from finish();
rollback;
