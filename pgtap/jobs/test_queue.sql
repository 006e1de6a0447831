-- jobs: enqueue (dedupe, priority, delay, fair share across brands), the lease protocol
-- (claim, complete fenced by worker, fail with backoff, dead, retry, cancel, release, reap),
-- paused queues, per-brand caps, schedules and statistics.
begin;
select plan(39);
select tests.seed_two_brands();
select tests.freeze_time('2030-01-01 12:00+00');
do $$
begin
    perform jobs.create_queue('mail', max_attempts => 2, backoff_base => '10 seconds', backoff_max => '1 minute');
end
$$;
do $$ begin perform jobs.create_queue('thumbs', on_success => 'delete'); end $$;

-- Enqueue and dedupe.
select ok(jobs.enqueue('mail', '{"to": "a"}') > 0, 'enqueue returns the job id');
select is(
    (select count(*)::int from jobs.enqueue_many('mail', '[{"to": "b"}, {"to": "c"}]')), 2,
    'enqueue_many writes one job per payload'
);
select is(
    jobs.enqueue('mail', '{"v": 1}', dedupe_key => 'welcome'),
    jobs.enqueue('mail', '{"v": 2}', dedupe_key => 'welcome'),
    'a second enqueue with a live dedupe key returns the live job'
);
select is(
    (
        select payload::jsonb from jobs.job_queue
        where dedupe_key = 'welcome'
    ), '{"v": 1}'::jsonb,
    'and by default keeps it unchanged'
);
do $$
begin
    perform jobs.enqueue('mail', '{"v": 3}', dedupe_key => 'welcome', on_duplicate => 'replace');
end
$$;
select is(
    (
        select payload::jsonb from jobs.job_queue
        where dedupe_key = 'welcome'
    ), '{"v": 3}'::jsonb,
    'on_duplicate => replace updates the waiting job'
);
select is(
    (
        select count(*)::int from jobs.job_queue
        where dedupe_key = 'welcome'
    ), 1, 'still one job for the key'
);
delete from jobs.job_queue;

-- Claim order: priority first, then the fair-share clock across brands.
do $$ begin perform count(*) from jobs.enqueue_many(
    'mail', (select json_agg(json_build_object('n', g)) from generate_series(1, 100) as g),
    tests.brand('acme')
); end $$;
do $$ begin perform jobs.enqueue('mail', '{"from": "bolt"}', tests.brand('bolt')); end $$;
do $$ begin perform jobs.enqueue('mail', '{"urgent": true}', priority => -1); end $$;
create temp table first_claim as select * from jobs.claim('w1', 3, array['mail']);
select is(
    (select count(*)::int from first_claim), 3, 'claim takes up to the batch size'
);
select ok(
    (select bool_or(payload::jsonb = '{"urgent": true}') from first_claim), 'a higher-priority job goes first'
);
select ok(
    (select bool_or(brand_id = tests.brand('bolt')) from first_claim),
    'a brand''s single job is not stuck behind another brand''s backlog of 100'
);
select ok(
    (
        select bool_and(locked_by = 'w1' and locked_until = '2030-01-01 12:05+00' and attempts = 1)
        from first_claim
    ),
    'claimed jobs are leased to the worker for the queue''s lease, attempt counted'
);
delete from jobs.job_queue;

-- Delayed jobs wait for their time.
do $$ begin perform jobs.enqueue('mail', '{}', delay => '1 hour'); end $$;
select
    is(
        (select count(*)::int from jobs.claim('w1', 10, array['mail'])),
        0,
        'a delayed job is not claimed early'
    );
select tests.freeze_time('2030-01-01 13:00+00');
select is((select count(*)::int from jobs.claim('w1', 10, array['mail'])), 1, 'it is claimed when due');

-- Completion is fenced by the lease holder.
select is(jobs.complete('w2', array(select id from jobs.job_queue)), 0, 'another worker cannot complete it');
select is(
    jobs.complete('w1', array(select id from jobs.job_queue), array['{"sent": 1}'::jsonb]), 1,
    'its worker can'
);
select is((select count(*)::int from jobs.job_queue), 0, 'the finished job left the hot table');
select results_eq(
    'select state, result from jobs.job_history',
    $$values ('succeeded', '{"sent": 1}'::jsonb)$$,
    'and is archived with its result'
);
do $$ begin perform jobs.enqueue('thumbs', '{}'); end $$;
do $$ begin perform jobs.complete('w1', array(select id from jobs.claim('w1', 1, array['thumbs']))); end $$;
select is(
    (
        select count(*)::int from jobs.job_history
        where queue = 'thumbs'
    ), 0,
    'queues with on_success => delete keep no history'
);

-- Failure: backoff, then dead after max_attempts, then retry.
create temp table failing as select jobs.enqueue('mail', '{"f": 1}') as id;
do $$ begin perform jobs.claim('w1', 1, array['mail']); end $$;
select is(jobs.fail('w1', array(select id from failing), array['smtp 451']), 1, 'fail settles the job');
select ok(
    (
        select run_at between '2030-01-01 13:00:05+00' and '2030-01-01 13:00:10+00' and locked_by is null
        from jobs.job_queue
    ),
    'a failed job waits base * 2^0 with jitter (5-10 s) before its retry'
);
select is(
    (select errors -> 0 ->> 'error' from jobs.job_queue), 'smtp 451', 'the attempt''s error is logged'
);
select tests.freeze_time('2030-01-01 13:01+00');
do $$ begin perform jobs.claim('w1', 1, array['mail']); end $$;
do $$ begin perform jobs.fail('w1', array(select id from failing), array['smtp 550']); end $$;
select results_eq(
    'select state, attempts, jsonb_array_length(errors) from jobs.job_history '
    'where id = (select id from failing)',
    $$values ('dead', 2, 2)$$,
    'after max_attempts the job is dead, with every attempt''s error kept'
);
select is(jobs.retry((select id from failing)), (select id from failing), 'retry revives a dead job');
select results_eq(
    'select attempts, locked_by from jobs.job_queue where id = (select id from failing)',
    $$values (0, null::text)$$,
    'back in the queue with its attempts reset'
);
select throws_ok(
    'select jobs.retry((select id from failing))', 'PT409', null, 'only dead jobs can be retried'
);
delete from jobs.job_queue;

-- Cancel, release, reap.
create temp table waiting as select jobs.enqueue('mail', '{"c": 1}') as id;
select is(jobs.cancel((select id from waiting)), 'cancelled', 'a waiting job is cancelled at once');
do $$ begin perform jobs.enqueue('mail', '{"c": 2}'); end $$;
create temp table running as select id from jobs.claim('w1', 1, array['mail']);
select is(jobs.cancel((select id from running)), 'cancel requested', 'a running job is flagged');
select is(
    (select array_agg(h) from jobs.heartbeat('w1', array(select id from running)) as h),
    array(select id from running), 'its worker learns it at the next heartbeat'
);
do $$ begin perform jobs.complete('w1', array(select id from running)); end $$;
select is(
    (
        select count(*)::int from jobs.job_history
        where state = 'cancelled'
    ), 2, 'both end as cancelled'
);
do $$ begin perform jobs.enqueue('mail', '{"r": 1}'); end $$;
do $$ begin perform jobs.claim('w1', 1, array['mail']); end $$;
select is(jobs.release('w1', array(select id from jobs.job_queue)), 1, 'release hands a job back');
select results_eq(
    'select attempts, locked_by from jobs.job_queue', $$values (0, null::text)$$,
    'uncounted and unleased'
);
do $$ begin perform jobs.claim('w1', 1, array['mail']); end $$;
select tests.freeze_time('2030-01-01 13:07+00');
select is(jobs.reap(), 1, 'an expired lease is reaped');
select ok(
    (select locked_by is null and last_error like 'lease expired%' from jobs.job_queue),
    'the job waits again, the lost lease counted as a failed attempt'
);
delete from jobs.job_queue;

-- Paused queues and per-brand caps.
do $$ begin perform jobs.enqueue('mail', '{}'); end $$;
do $$ begin perform jobs.pause('mail'); end $$;
select is(
    (select count(*)::int from jobs.claim('w1', 10, array['mail'])), 0, 'a paused queue is not claimed'
);
do $$ begin perform jobs.resume('mail'); end $$;
select is((select count(*)::int from jobs.claim('w1', 10, array['mail'])), 1, 'a resumed one is');
do $$ begin perform jobs.create_queue('reports', brand_concurrency => 1); end $$;
do $$ begin perform count(*) from jobs.enqueue_many('reports', '[{}, {}, {}]', tests.brand('acme')); end $$;
do $$ begin perform jobs.enqueue('reports', '{}', tests.brand('bolt')); end $$;
select is(
    (select count(distinct brand_id)::int from jobs.claim('w1', 10, array['reports'])), 2,
    'with a cap of 1, one job per brand is claimed'
);
select is(
    (select count(*)::int from jobs.claim('w1', 10, array['reports'])), 0,
    'and no more while those run'
);

-- Schedules and statistics.
do $$ begin perform jobs.schedule('digest', '0 7 * * *', 'mail', '{"kind": "digest"}'); end $$;
select ok(
    (
        select command like '%jobs.enqueue(''mail''%' and not via_pg_cron
        from brand.schedules
        where name = 'job:digest'
    ),
    'without pg_cron a schedule is recorded for brandbase worker'
);
select results_eq(
    'select queue, ready, running, scheduled from jobs.queue_stats '
    'where queue in (''mail'', ''reports'') order by 1',
    $$values ('mail', 0::bigint, 1::bigint, 0::bigint), ('reports', 2::bigint, 2::bigint, 0::bigint)$$,
    'queue_stats counts ready and running jobs'
);

-- Payloads are kept as sent: json, never parsed into jsonb and printed back.
do $$ begin perform jobs.create_queue('verbatim'); end $$;
create temp table verbatim as
select jobs.enqueue_many('verbatim', '[{"z": 1,  "a": [1.50]}, 2]') as id
union all
select jobs.enqueue('verbatim', jsonb_build_object('b', 1, 'a', 2));
select results_eq(
    'select j.payload::text from verbatim as v inner join jobs.job_queue as j using (id) order by j.id',
    $$values ('{"z": 1,  "a": [1.50]}'), ('2'), ('{"a": 2, "b": 1}')$$,
    'enqueue_many stores each payload as its producer wrote it; enqueue keeps jsonb''s text'
);

select * from finish();
rollback;
