-- jobs: bad input gets a stable SQLSTATE and a hint, and nothing is enqueued.
begin;
select plan(16);
select tests.seed_two_brands();
do $$ begin perform jobs.create_queue('mail'); end $$;

select throws_ok($$select jobs.enqueue('nope', '{}')$$, 'P0002', 'unknown queue: nope', 'unknown queue');
select throws_ok($$select jobs.enqueue('mail', 'not json')$$, '22P02', null, 'a payload that is not JSON');
select
    throws_ok(
        $$select jobs.enqueue_many('mail', '{"a": 1}')$$, '22023', null, 'payloads that are not an array'
    );
select
    throws_ok(
        $$select jobs.enqueue_many('mail', '[{"a": 1}, {a: 2}]')$$, '22P02', null,
        'a batch with one element that is not JSON'
    );
select
    throws_ok(
        $$select jobs.enqueue('mail', '{}', delay => '-5 minutes')$$, '22023', null, 'a negative delay'
    );
select throws_ok(
    $$select jobs.enqueue('mail', '{}', run_at => now(), delay => '1 minute')$$, '22023', null,
    'run_at and delay together'
);
select throws_ok($$select jobs.enqueue('mail', '{}', max_attempts => 0)$$, '22023', null, 'zero attempts');
select
    throws_ok(
        $$select jobs.enqueue('mail', '{}', on_duplicate => 'merge')$$, '22023', null, 'unknown on_duplicate'
    );
select throws_ok(
    $$select jobs.enqueue('mail', '{}', gen_random_uuid())$$, 'P0002', null, 'a brand that does not exist'
);
select throws_ok(
    $$select jobs.enqueue_many('mail', '[{}, {}]', dedupe_keys => array['only-one'])$$, '22023', null,
    'dedupe keys that do not match the payloads'
);
select is((select count(*)::int from jobs.job_queue), 0, 'none of it enqueued anything');

select
    throws_ok(
        $$select jobs.create_queue('Bad Name')$$, '23514', null, 'a queue name that is not an identifier'
    );
select throws_ok(
    $$select jobs.create_queue('q', handler => 'pg_catalog.now()'::regprocedure)$$, '42883', null,
    'a SQL handler with the wrong signature'
);
select
    throws_ok(
        $$select jobs.schedule('x', 'every day', 'mail')$$, '22023', null, 'an invalid cron expression'
    );
select
    throws_ok(
        $$select jobs.schedule('x', '* * * * *', 'nope')$$, 'P0002', null, 'a schedule for an unknown queue'
    );
select throws_ok($$select jobs.claim('w', 0, array['mail'])$$, '22023', null, 'a claim of zero jobs');

select * from finish();
rollback;
