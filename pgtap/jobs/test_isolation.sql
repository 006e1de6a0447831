-- jobs, both ways: a brand's jobs are invisible to another brand through the tables and
-- api.jobs, and another brand's jobs cannot be cancelled or retried; enqueueing needs
-- jobs.manage and a queue opened to apps. System jobs are the operator's only. Another
-- brand's job answers exactly like a missing one (PT404 "job N not found", no brand id).
begin;
select plan(34);
select tests.seed_two_brands();
do $$
begin
    perform jobs.create_queue('exports', app_enqueue => true, max_attempts => 1);
    perform jobs.create_queue('internal');
    perform jobs.enqueue('exports', '{"who": "acme"}', tests.brand('acme'));
    perform jobs.enqueue('exports', '{"who": "bolt"}', tests.brand('bolt'));
    perform jobs.enqueue('internal', '{"who": "system"}');
    -- Two dead jobs per brand: one each direction retries, one the other direction tries to.
    perform jobs.enqueue('exports', jsonb_build_object('dead', n), b)
    from unnest(array[tests.brand('acme'), tests.brand('bolt')]) as b, generate_series(1, 2) as n;
    perform jobs.fail('w', array_agg(c.id), array_agg('boom'::text))
    from jobs.claim('w', 10, array['exports']) as c where c.payload::jsonb ? 'dead';
end
$$;

create function tests.job_checks(mine text, theirs text)
returns setof text
language plpgsql
as $$
declare
    msg text := format(' (%s -> %s)', mine, theirs);
    their_live bigint := (select id from jobs.job_queue where brand_id = tests.brand(theirs) and payload::jsonb ? 'who');
    their_dead bigint := (select min(id) from jobs.job_history where brand_id = tests.brand(theirs));
    my_dead bigint := (select max(id) from jobs.job_history where brand_id = tests.brand(mine));
begin
    perform tests.authenticate_as(tests.uid('admin@' || mine));
    return next is((select count(*)::int from api.jobs where brand_id = tests.brand(mine)),
        (select count(*)::int from api.jobs), 'only own jobs listed' || msg);
    return next is((select count(*)::int from api.jobs where brand_id = tests.brand(theirs)), 0,
        'the other brand''s jobs invisible in api.jobs' || msg);
    return next is((select count(*)::int from jobs.job_queue where brand_id <> tests.brand(mine) or brand_id is null), 0,
        'nor in jobs.job_queue, system jobs included' || msg);
    return next is((select count(*)::int from jobs.job_history where brand_id = tests.brand(theirs)), 0,
        'nor in jobs.job_history' || msg);
    return next throws_ok(format('select api.cancel_job(%s)', their_live), 'PT404',
        format('job %s not found', their_live), 'cancelling their job: not found, as a missing one' || msg);
    return next throws_ok(format('select api.retry_job(%s)', their_dead), 'PT404',
        format('job %s not found', their_dead), 'retrying their job: not found, as a missing one' || msg);
    return next throws_ok('select api.cancel_job(999999999)', 'PT404', 'job 999999999 not found',
        'a missing job: the same answer' || msg);
    return next throws_ok(format('select jobs.cancel_job(%s)', their_live), 'PT404', null,
        'the inner function answers the same' || msg);
    return next throws_ok(format('select api.enqueue_job(%L, ''exports'')', tests.brand(theirs)), '42501', null,
        'enqueueing for them refused' || msg);
    return next ok(api.retry_job(my_dead) = my_dead, 'retrying my own dead job works' || msg);
    return next ok(api.enqueue_job(tests.brand(mine), 'exports', '{"n": 2}') > 0,
        'enqueueing for my brand into an app queue works' || msg);
    perform tests.clear_authentication();
end
$$;

create temp table system_job as select id from jobs.job_queue
where queue = 'internal';
grant select on system_job to public;
create temp table acme_live as select id from jobs.job_queue
where brand_id = tests.brand('acme') and payload::jsonb ? 'who';
grant select on acme_live to public;
select tests.job_checks('acme', 'bolt');
select tests.job_checks('bolt', 'acme');

select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    format('select api.enqueue_job(%L, ''internal'')', tests.brand('acme')), '42501', null,
    'apps cannot enqueue into queues not opened to them'
);
select throws_ok(
    format('select api.cancel_job(%s)', (select id from system_job)),
    'PT404', format('job %s not found', (select id from system_job)), 'a system job is not found from a brand'
);
select throws_ok('select api.retry_job(null)', 'PT404', null, 'nor a null id');
select tests.authenticate_as(tests.uid('member@acme'));
select throws_ok(
    format('select api.cancel_job(%s)', (select id from acme_live)), '42501', null,
    'a member sees the job (jobs.read), so gets 42501 for lacking jobs.manage, not 404'
);
select tests.authenticate_as(tests.uid('admin@acme'));
select throws_ok(
    format('select api.retry_job(%s)', (select id from acme_live)), 'PT409', null,
    'retrying a live job: PT409 (not dead)'
);
create temp table fresh as select api.enqueue_job(tests.brand('acme'), 'exports', '{"n": 9}') as id;
select is(api.cancel_job((select id from fresh)), 'cancelled', 'cancelling an own waiting job works');
select throws_ok(
    format('select api.cancel_job(%s)', (select id from fresh)), 'PT409', null,
    'cancelling it again: PT409 (already finished)'
);
select tests.authenticate_as(tests.uid('viewer@acme'));
select throws_ok(
    format('select api.enqueue_job(%L, ''exports'')', tests.brand('acme')), '42501', null,
    'a viewer cannot enqueue'
);
select tests.authenticate_as_role('anon');
select throws_ok('select count(*) from api.jobs', '42501', null, 'anon cannot read jobs');
select throws_ok('select jobs.enqueue(''internal'')', '42501', null, 'anon cannot enqueue');
select tests.authenticate_as_role('service_role');
select ok(jobs.enqueue('internal', '{}') > 0, 'service_role enqueues through jobs.enqueue');
select throws_ok(
    'insert into jobs.job_queue (queue, payload, fair_at, max_attempts) values (''internal'', ''{}'', 0, 1)',
    '42501', null, 'but cannot write the table around it'
);
select tests.clear_authentication();

select * from finish();
rollback;
