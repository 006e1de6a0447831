-- ratelimit.check(): GCRA with redis-cell's semantics, on a frozen clock.
begin;
select plan(15);
select tests.freeze_time('2030-01-01 00:00:00+00');

create temp table r as
select
    1 as n,
    c.*
from ratelimit.check('user:1', 5, '1 second', 2) as c;
insert into r select
    2 as n,
    c.*
from ratelimit.check('user:1', 5, '1 second', 2) as c;
insert into r select
    3 as n,
    c.*
from ratelimit.check('user:1', 5, '1 second', 2) as c;
insert into r select
    4 as n,
    c.*
from ratelimit.check('user:1', 5, '1 second', 2) as c;

select results_eq(
    'select allowed, capacity, remaining from r order by n',
    $$values (true, 3, 2), (true, 3, 1), (true, 3, 0), (false, 3, 0)$$,
    'burst 2 allows 3 at once (limit = burst + 1), then denies'
);
select
    is((
        select retry_after from r
        where n = 4
    ), 0.2::float8, 'the denial says when to retry: one emission interval');
select
    is((
        select reset_after from r
        where n = 3
    ), 0.6::float8, 'reset_after: when the allowance is whole again');

select tests.freeze_time('2030-01-01 00:00:00.2+00');
select ok((select allowed from ratelimit.check('user:1', 5, '1 second', 2)), 'after 0.2 s one more passes');
select ok(not (select allowed from ratelimit.check('user:1', 5, '1 second', 2)), 'and only one');

select ok((select allowed from ratelimit.check('user:2', 5, '1 second', 2)), 'keys are independent');
select
    ok(
        (select allowed from ratelimit.check('ai:1', 10, '1 minute', 9, cost => 10)),
        'a weighted request takes the whole burst'
    );
select ok(not (select allowed from ratelimit.check('ai:1', 10, '1 minute', 9, cost => 1)), 'leaving nothing');

select throws_ok($$select ratelimit.check('k', -1, '1 second')$$, '22023', null, 'negative rate refused');
select throws_ok($$select ratelimit.check('k', 0, '1 second')$$, '22023', null, 'a zero rate is refused');
select throws_ok($$select ratelimit.check('k', 1, '0 seconds')$$, '22023', null, 'empty period refused');
select throws_ok(
    $$select ratelimit.check('', 1, '1 second')$$, '22023', null, 'an empty key is refused'
);
select throws_ok(
    format('select ratelimit.check(%L, 1, ''1 second'')', repeat('k', 513)), '22023',
    null, 'so is a key over 512 bytes'
);
select throws_ok(
    $$select ratelimit.check('k', 10, '1 second', 1, cost => 5)$$, '22023', null,
    'a cost above the burst capacity could never pass: refused'
);

select tests.freeze_time('2030-01-01 01:00:00+00');
select is(ratelimit.prune() >= 3, true, 'prune() removes keys whose allowance is whole again');

select * from finish();
rollback;
